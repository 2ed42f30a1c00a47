pub mod dialer;
pub mod health;
pub mod keyyo_cti;
pub mod keyyo_token;
pub mod provider;
pub mod relay;
pub mod reporter;
pub mod sim;
