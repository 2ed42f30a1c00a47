pub mod keyyo;
pub mod keyyo_cti;
pub mod ovh;
