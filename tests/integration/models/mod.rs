mod content;
mod gallery;
mod generate;
mod migrations;
mod posts;
mod queues;
mod users;
