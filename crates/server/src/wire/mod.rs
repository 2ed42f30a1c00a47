pub mod keyyo;
