//! The plugins that ship inside the binary, compiled from `plugins/*` by the build script.

include!(concat!(env!("OUT_DIR"), "/builtin_plugins.rs"));

/// The component bytes of the built-in plugin built from `plugins/<stem>`.
pub fn builtin_plugin(stem: &str) -> Option<&'static [u8]> {
    BUILTIN_PLUGINS.iter().find(|(name, _)| *name == stem).map(|(_, bytes)| *bytes)
}
