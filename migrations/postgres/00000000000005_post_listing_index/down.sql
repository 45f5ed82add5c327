DROP INDEX posts_listed;
