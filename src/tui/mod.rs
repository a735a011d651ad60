//! The terminal UI of `kubectl failover watch` and the interactive demo, Elm-style: [`app`]
//! holds the state and its update function (no I/O), [`event`] its messages and commands,
//! [`keys`] the one key table behind both key handling and the `?` help, [`dialog`] the
//! confirmations, [`model`] what the feed sends, [`feed`] the background fetcher, [`actions`]
//! the commands' execution, [`ui`] pure render functions, [`run`] the loop that ties them
//! together on a terminal.

pub mod actions;
pub mod app;
pub mod dialog;
pub mod event;
pub mod feed;
pub mod keys;
pub mod model;
pub mod run;
pub mod ui;

pub use run::{Setup, drive, run, run_relisting};
