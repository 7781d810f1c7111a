//! The glue [`export_plugin!`](crate::export_plugin) expands to: it keeps the one live plugin
//! instance of this component and converts between the WIT types and the SDK's.
//!
//! A component runs single-threaded, so the instance lives in a thread-local slot.

use std::any::Any;
use std::cell::RefCell;

use crate::{BatchOutput, Config, LogBatch, LogLevel, Plugin, PluginError, RecordBatch, Report};

thread_local! {
    static INSTANCE: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
}

fn with_instance<P: Plugin, T>(work: impl FnOnce(&mut P) -> Result<T, PluginError>) -> Result<T, PluginError> {
    INSTANCE.with(|slot| {
        let mut slot = slot.borrow_mut();
        let plugin = slot
            .as_mut()
            .and_then(|boxed| boxed.downcast_mut::<P>())
            .ok_or_else(|| PluginError::Failed("plugin called before init".into()))?;
        work(plugin)
    })
}

/// Sends panic messages to the host log, where the host picks them up to explain the trap.
fn report_panics_to_host() {
    std::panic::set_hook(Box::new(|info| {
        let message = if let Some(text) = info.payload().downcast_ref::<&str>() {
            (*text).to_string()
        } else if let Some(text) = info.payload().downcast_ref::<String>() {
            text.clone()
        } else {
            "panic with a non-string payload".to_string()
        };
        let location = info.location().map(|at| format!(" at {}:{}", at.file(), at.line())).unwrap_or_default();
        crate::log(LogLevel::Error, &format!("panicked{location}: {message}"));
    }));
}

/// Creates the instance.
pub fn init<P: Plugin>(config: Vec<(String, String)>, state: Option<Vec<u8>>) -> Result<(), PluginError> {
    report_panics_to_host();
    let plugin = P::init(&Config::from_pairs(config), state.as_deref())?;
    INSTANCE.with(|slot| *slot.borrow_mut() = Some(Box::new(plugin)));
    Ok(())
}

/// Runs [`Plugin::process_logs`].
pub fn process_logs<P: Plugin>(batch: RecordBatch) -> Result<BatchOutput, PluginError> {
    let batch = LogBatch::from_wit(batch);
    with_instance::<P, _>(|plugin| plugin.process_logs(&batch).map(|output| output.into_wit()))
}

/// Runs [`Plugin::process_reports`].
pub fn process_reports<P: Plugin>(reports: Vec<Report>) -> Result<BatchOutput, PluginError> {
    with_instance::<P, _>(|plugin| plugin.process_reports(&reports).map(|output| output.into_wit()))
}

/// Runs [`Plugin::finish`].
pub fn finish<P: Plugin>() -> Result<BatchOutput, PluginError> {
    with_instance::<P, _>(|plugin| plugin.finish().map(|output| output.into_wit()))
}

/// Runs [`Plugin::snapshot`].
pub fn snapshot<P: Plugin>() -> Option<Vec<u8>> {
    with_instance::<P, _>(|plugin| Ok(plugin.snapshot())).ok().flatten()
}
