pub mod clock;
pub mod control;
pub mod event;
pub mod ids;
pub mod record;
pub mod wall;
