mod content;
mod gallery;
mod generate;
mod housekeeping;
mod migrations;
mod posts;
mod queues;
mod users;
