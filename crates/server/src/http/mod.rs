pub mod cti;
pub mod desk;
pub mod error;
pub mod extract;
pub mod front;
pub mod keyyo;
pub mod listener;
pub mod ops;
pub mod sim;
pub mod state;

#[cfg(test)]
mod tests;
