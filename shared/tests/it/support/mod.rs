pub mod emulator;
pub mod providers;
