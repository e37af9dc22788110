//! The services' memory allocator: jemalloc, serving Rust's allocations and, unprefixed, the C libraries' too
//! (libjpeg-turbo's `malloc` included), installed in each binary with [`use_jemalloc!`](crate::use_jemalloc).
//!
//! Why: decoding a progressive JPEG keeps the whole image's coefficients (12 MB for a 2.5 MP photo, 44 MB for
//! 14.7 MP) in buffers that libjpeg-turbo allocates and frees per image. glibc's `malloc` hands buffers that
//! large back to the kernel on `free`, so every job paid for the kernel mapping and zeroing them again: 15% of
//! the transformer's CPU under load in `perf` (page faults, `clear_page`). jemalloc keeps freed memory for
//! reuse, and returns what stays unused after its decay time (10 s), so an idle service still shrinks.
//! `oversize_threshold:0` puts the large buffers in the same arenas as the rest; by default jemalloc gives
//! allocations over 8 MiB an arena that returns them to the kernel at once, which brings the page faults back.
//!
//! Measured with `imagepipe bench` on the 2-core machine, CPU per job of the transformer: 2.5 MP → 256 px,
//! 44–47 ms with glibc against 34 ms; 14.7 MP → 1280 px, 212–225 ms against 165 ms.

pub use tikv_jemallocator::Jemalloc;

/// jemalloc's options, compiled into each binary (see the module docs): one set of arenas for every size.
/// `MALLOC_CONF` in the environment still adds to them at start.
pub const MALLOC_CONF: &std::ffi::CStr = c"oversize_threshold:0";

/// Installs jemalloc as the binary's allocator, with [`MALLOC_CONF`]. Once, at the top level of a `main.rs`.
#[macro_export]
macro_rules! use_jemalloc {
    () => {
        #[global_allocator]
        static GLOBAL_ALLOCATOR: $crate::allocator::Jemalloc = $crate::allocator::Jemalloc;

        /// jemalloc reads its compiled-in options from this symbol before `main` runs.
        #[unsafe(no_mangle)]
        #[allow(non_upper_case_globals)]
        pub static malloc_conf: Option<&'static ::std::ffi::c_char> =
            // SAFETY: the first byte of a NUL-terminated string in static memory, never written.
            Some(unsafe { &*$crate::allocator::MALLOC_CONF.as_ptr() });
    };
}
