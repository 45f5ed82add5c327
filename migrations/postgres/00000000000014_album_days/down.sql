DROP INDEX photos_album_created;
