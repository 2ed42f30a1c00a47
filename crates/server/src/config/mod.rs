pub mod check;
pub mod defaults;
pub mod file;
pub mod keyyo;
pub mod server;
pub mod settings;
