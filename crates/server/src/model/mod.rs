pub mod clock;
pub mod control;
pub mod event;
