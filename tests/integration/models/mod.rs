mod content;
mod gallery;
mod migrations;
mod posts;
mod queues;
mod users;
