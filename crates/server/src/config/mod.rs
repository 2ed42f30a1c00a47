pub mod keyyo;
pub mod server;
pub mod settings;
