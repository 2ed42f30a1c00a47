pub mod keyyo;
pub mod keyyo_cti;
