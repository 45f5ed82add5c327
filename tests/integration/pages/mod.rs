mod album;
mod home;
mod post;
mod site;
