//! The crate's only contact with the C library: every `extern "C"` declaration and every
//! `unsafe` block lives here, each with a `// SAFETY:` note, so that an audit reads one file.
//!
//! What std does not offer and a server needs:
//! - `poll(2)`, the multiplexing call of chapter 3 (wrapped safely by [`select`]);
//! - `listen(2)` again, to ask for a longer accept queue than std's 128 (chapter 2);
//! - `getrlimit`/`setrlimit`, to raise the soft descriptor limit to the hard one, as Go's
//!   runtime does at start, so that a default `ulimit -n 1024` does not cap the server;
//! - `signal(2)` and `write(2)`, so that Ctrl-C and SIGTERM stop a server gracefully: the
//!   handler only writes one byte to a self-pipe, which a normal thread waits on.
//!
//! Everything here is Unix: Linux first, macOS compiles. The per-OS numbers sit side by side.
//!
//! [`select`]: crate::select

use std::io::{self, Read};
use std::os::fd::{AsRawFd, RawFd};
use std::os::raw::{c_int, c_void};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Mutex, Once, OnceLock};

// ANCHOR: ffi
/// One entry of the array `poll(2)` reads and fills in; the layout is fixed by POSIX.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct PollFd {
    pub(crate) fd: RawFd,
    pub(crate) events: i16,
    pub(crate) revents: i16,
}

pub(crate) const POLLIN: i16 = 0x001;
pub(crate) const POLLOUT: i16 = 0x004;
pub(crate) const POLLERR: i16 = 0x008;
pub(crate) const POLLHUP: i16 = 0x010;
pub(crate) const POLLNVAL: i16 = 0x020;

// `nfds_t` is `unsigned long` on Linux and `unsigned int` on macOS.
#[cfg(target_os = "linux")]
type NfdsT = std::os::raw::c_ulong;
#[cfg(not(target_os = "linux"))]
type NfdsT = std::os::raw::c_uint;

extern "C" {
    fn poll(fds: *mut PollFd, nfds: NfdsT, timeout: c_int) -> c_int;
}
// ANCHOR_END: ffi

/// `poll(2)` over `fds`, retried when a signal interrupts it; returns how many are ready.
/// `timeout_ms` is -1 for no timeout.
pub(crate) fn poll_fds(fds: &mut [PollFd], timeout_ms: c_int) -> io::Result<usize> {
    loop {
        // SAFETY: `fds` is a live, exclusively borrowed slice of `#[repr(C)]` pollfd structs;
        // we pass its exact length, and poll(2) writes only the `revents` fields of those
        // entries before returning. Descriptors closed meanwhile are reported as POLLNVAL,
        // not undefined behaviour.
        let n = unsafe { poll(fds.as_mut_ptr(), fds.len() as NfdsT, timeout_ms) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

extern "C" {
    fn listen(socket: RawFd, backlog: c_int) -> c_int;
}

// ANCHOR: backlog
/// Sets the length of a listening socket's queue of connections not yet accepted.
///
/// std's `TcpListener::bind` always asks for 128. Calling `listen(2)` again on a socket that
/// is already listening changes the queue length (Linux and the BSDs allow it); the kernel
/// caps it at its own maximum (`net.core.somaxconn` on Linux).
///
/// # Errors
/// What `listen(2)` reports.
pub fn set_listen_backlog(listener: &std::net::TcpListener, backlog: u32) -> io::Result<()> {
    let backlog = backlog.min(i32::MAX as u32) as c_int;
    // SAFETY: the descriptor is borrowed from a live TcpListener for the duration of the
    // call, and listen(2) only changes kernel state of that socket; no memory is passed.
    let rc = unsafe { listen(listener.as_raw_fd(), backlog) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
// ANCHOR_END: backlog

// ANCHOR: rlimit
/// `struct rlimit`: `rlim_t` is 64 bits on Linux and macOS alike.
#[repr(C)]
struct RLimit {
    cur: u64,
    max: u64,
}

#[cfg(target_os = "linux")]
const RLIMIT_NOFILE: c_int = 7;
#[cfg(not(target_os = "linux"))]
const RLIMIT_NOFILE: c_int = 8;

/// The soft limit to ask for. macOS reports an infinite hard limit but refuses a soft limit
/// above `OPEN_MAX`; Go's runtime clamps to it, and so do we.
#[cfg(not(target_os = "linux"))]
fn soft_target(hard: u64) -> u64 {
    hard.min(10_240)
}
#[cfg(target_os = "linux")]
fn soft_target(hard: u64) -> u64 {
    hard
}

extern "C" {
    fn getrlimit(resource: c_int, rlim: *mut RLimit) -> c_int;
    fn setrlimit(resource: c_int, rlim: *const RLimit) -> c_int;
}

/// The soft and hard limits on open descriptors of this process.
///
/// # Errors
/// What `getrlimit(2)` reports.
pub fn fd_limits() -> io::Result<(u64, u64)> {
    let mut lim = RLimit { cur: 0, max: 0 };
    // SAFETY: `lim` is a live, exclusively borrowed `#[repr(C)]` struct of the layout
    // getrlimit(2) fills in; it writes nothing else.
    if unsafe { getrlimit(RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((lim.cur, lim.max))
}

/// Raises this process's soft limit on open descriptors to its hard limit (clamped on macOS)
/// and returns the soft limit now in force. The default soft limit, 1024 on most Linux
/// systems, is a leftover of `select()`'s `FD_SETSIZE`; a server holding thousands of clients
/// needs more, and the hard limit is what the administrator allows. Idempotent; binaries and
/// tests that open many descriptors call it at start.
///
/// # Errors
/// What `getrlimit(2)`/`setrlimit(2)` report.
pub fn raise_fd_limit() -> io::Result<u64> {
    static RAISED: Mutex<()> = Mutex::new(());
    let _once = RAISED.lock().unwrap_or_else(|p| p.into_inner());
    let (soft, hard) = fd_limits()?;
    let want = soft_target(hard);
    if soft >= want {
        return Ok(soft);
    }
    let lim = RLimit {
        cur: want,
        max: hard,
    };
    // SAFETY: `lim` is a live `#[repr(C)]` struct of the layout setrlimit(2) reads; it is
    // only read.
    if unsafe { setrlimit(RLIMIT_NOFILE, &lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(want)
}
// ANCHOR_END: rlimit

// ANCHOR: signals
const SIGINT: c_int = 2;
const SIGTERM: c_int = 15;

extern "C" {
    fn signal(signum: c_int, handler: usize) -> usize;
    fn write(fd: c_int, buf: *const c_void, count: usize) -> isize;
}

/// The write end of the stop self-pipe, for the signal handler; -1 until installed.
static STOP_FD: AtomicI32 = AtomicI32::new(-1);
/// Both ends of the stop self-pipe, made once per process.
static STOP_PIPE: OnceLock<(UnixStream, UnixStream)> = OnceLock::new();

/// The handler: one `write(2)` of one byte, the only thing it may safely do (async-signal
/// safe); everything else happens on the thread that reads the pipe.
extern "C" fn on_stop_signal(_signum: c_int) {
    let fd = STOP_FD.load(Ordering::Relaxed);
    if fd >= 0 {
        let byte = 1u8;
        // SAFETY: write(2) is async-signal-safe; `byte` lives on this stack frame for the
        // call; the descriptor belongs to a socket kept open for the life of the process
        // (a static), and a full pipe only makes the non-blocking write fail, harmlessly.
        unsafe {
            write(fd, (&byte as *const u8).cast::<c_void>(), 1);
        }
    }
}

/// Routes SIGINT (Ctrl-C) and SIGTERM to a self-pipe and returns a stream that receives one
/// byte per signal: a thread blocked reading it (or polling it) learns that the process was
/// asked to stop, and stops the servers gracefully. Call it once per process; later calls
/// return another handle on the same pipe.
///
/// # Errors
/// When the socket pair cannot be created or cloned.
pub fn stop_signals() -> io::Result<UnixStream> {
    static INSTALL: Once = Once::new();
    let (sender, receiver) = match STOP_PIPE.get() {
        Some(pipe) => pipe,
        None => {
            let (tx, rx) = UnixStream::pair()?;
            tx.set_nonblocking(true)?;
            let _ = STOP_PIPE.set((tx, rx));
            STOP_PIPE
                .get()
                .ok_or_else(|| io::Error::other("stop pipe"))?
        }
    };
    INSTALL.call_once(|| {
        STOP_FD.store(sender.as_raw_fd(), Ordering::Relaxed);
        for signum in [SIGINT, SIGTERM] {
            // SAFETY: `on_stop_signal` is an `extern "C" fn(c_int)`, the type signal(2)
            // expects, and it only calls async-signal-safe functions.
            unsafe {
                signal(signum, on_stop_signal as extern "C" fn(c_int) as usize);
            }
        }
    });
    receiver.try_clone()
}

/// Waits until a stop signal arrives (blocking read on the stream [`stop_signals`] returned).
pub fn wait_for_stop_signal(stream: &mut UnixStream) {
    let mut byte = [0u8; 1];
    let _ = stream.read(&mut byte);
}
// ANCHOR_END: signals

// ANCHOR: epoll
/// `epoll(7)`, Linux's answer to `poll`'s cost: the kernel keeps the interest list between
/// calls (`epoll_ctl` once per change, not the whole set on every wait), and `epoll_wait`
/// returns only the descriptors that are ready.
#[cfg(target_os = "linux")]
pub(crate) mod epoll {
    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
    use std::os::raw::c_int;

    /// `struct epoll_event`. The kernel declares it packed on x86-64 (and only there), so
    /// its `u64` follows the `u32` with no padding; elsewhere it has the natural layout.
    #[cfg_attr(target_arch = "x86_64", repr(C, packed))]
    #[cfg_attr(not(target_arch = "x86_64"), repr(C))]
    #[derive(Clone, Copy, Debug, Default)]
    pub(crate) struct EpollEvent {
        pub(crate) events: u32,
        /// Ours to choose: we store a token (a client id), never a descriptor number, which
        /// the kernel reuses as soon as it is closed.
        pub(crate) data: u64,
    }

    pub(crate) const EPOLLIN: u32 = 0x001;
    pub(crate) const EPOLLOUT: u32 = 0x004;
    pub(crate) const EPOLLERR: u32 = 0x008;
    pub(crate) const EPOLLHUP: u32 = 0x010;
    pub(crate) const CTL_ADD: c_int = 1;
    pub(crate) const CTL_DEL: c_int = 2;
    pub(crate) const CTL_MOD: c_int = 3;
    const EPOLL_CLOEXEC: c_int = 0o2_000_000;

    extern "C" {
        fn epoll_create1(flags: c_int) -> c_int;
        fn epoll_ctl(epfd: c_int, op: c_int, fd: c_int, event: *mut EpollEvent) -> c_int;
        fn epoll_wait(epfd: c_int, events: *mut EpollEvent, max: c_int, timeout: c_int) -> c_int;
    }

    /// A new epoll instance, closed when the returned descriptor is dropped.
    pub(crate) fn create() -> io::Result<OwnedFd> {
        // SAFETY: epoll_create1 takes no pointer; it returns a new descriptor or -1.
        let fd = unsafe { epoll_create1(EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by the kernel, is open, and nothing else owns it.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    /// Adds, changes or removes (`op`) the interest of `fd` in `epfd`.
    pub(crate) fn ctl(
        epfd: &OwnedFd,
        op: c_int,
        fd: RawFd,
        events: u32,
        token: u64,
    ) -> io::Result<()> {
        let mut event = EpollEvent {
            events,
            data: token,
        };
        // SAFETY: `event` is a live `#[repr(C)]` struct of the kernel's layout, only read by
        // epoll_ctl; both descriptors are open for the duration of the call (`epfd` is
        // borrowed, `fd` belongs to a socket the caller holds).
        let rc = unsafe { epoll_ctl(epfd.as_raw_fd(), op, fd, &mut event) };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// Waits for readiness; fills the front of `events` and returns how many. Retried when a
    /// signal interrupts it. `timeout_ms` is -1 for no timeout.
    pub(crate) fn wait(
        epfd: &OwnedFd,
        events: &mut [EpollEvent],
        timeout_ms: c_int,
    ) -> io::Result<usize> {
        let max = events.len().min(c_int::MAX as usize) as c_int;
        loop {
            // SAFETY: `events` is a live, exclusively borrowed slice of `max` entries of the
            // kernel's layout; epoll_wait writes at most `max` of them and nothing else.
            let n = unsafe { epoll_wait(epfd.as_raw_fd(), events.as_mut_ptr(), max, timeout_ms) };
            if n >= 0 {
                return Ok(n as usize);
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
    }
}
// ANCHOR_END: epoll

// ANCHOR: getpeername
/// The start of every socket address: which family it is. Linux spells it as one 16-bit
/// field; the BSDs (macOS) put a length byte first and keep the family in one byte.
#[cfg(not(any(target_os = "macos", target_os = "ios", target_os = "freebsd")))]
#[repr(C)]
#[derive(Clone, Copy)]
struct SockAddrHeader {
    family: u16,
}
#[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
#[repr(C)]
#[derive(Clone, Copy)]
struct SockAddrHeader {
    len: u8,
    family: u8,
}

/// `struct sockaddr_in`: the header, the port and the address in network byte order, padding.
#[repr(C)]
#[derive(Clone, Copy)]
struct SockAddrIn {
    header: SockAddrHeader,
    port: [u8; 2],
    addr: [u8; 4],
    zero: [u8; 8],
}

/// `struct sockaddr_in6`: the header, the port (network order), the flow label, the address,
/// and the scope id (host order) that names the interface of a link-local address.
#[repr(C)]
#[derive(Clone, Copy)]
struct SockAddrIn6 {
    header: SockAddrHeader,
    port: [u8; 2],
    flowinfo: [u8; 4],
    addr: [u8; 16],
    scope_id: u32,
}

/// Room for either family, as `struct sockaddr_storage` is in C (we need only these two).
#[repr(C)]
union SockAddrAny {
    header: SockAddrHeader,
    v4: SockAddrIn,
    v6: SockAddrIn6,
}

const AF_INET: u16 = 2;
#[cfg(target_os = "linux")]
const AF_INET6: u16 = 10;
#[cfg(not(target_os = "linux"))]
const AF_INET6: u16 = 30;

/// `socklen_t` is a 32-bit unsigned integer on Linux and macOS alike.
type SockLen = u32;

extern "C" {
    fn getpeername(socket: c_int, address: *mut SockAddrAny, len: *mut SockLen) -> c_int;
}

/// The address of the peer of a connected socket given by its descriptor: `getpeername(2)`.
///
/// std answers the same question with `TcpStream::peer_addr`, once it knows the descriptor
/// is a TCP socket. A child started inetd-style only has descriptor 0, and asks the kernel
/// what is on the other end before it trusts it.
///
/// # Errors
/// What `getpeername(2)` reports: `ENOTSOCK` when the descriptor is not a socket,
/// `ENOTCONN` when it is not connected; `InvalidData` for a family other than IPv4 or IPv6
/// (a Unix-domain socket, for example).
pub fn peer_addr(fd: std::os::fd::BorrowedFd<'_>) -> io::Result<std::net::SocketAddr> {
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
    let mut any = SockAddrAny {
        v6: SockAddrIn6 {
            header: SockAddrHeader::zeroed(),
            port: [0; 2],
            flowinfo: [0; 4],
            addr: [0; 16],
            scope_id: 0,
        },
    };
    let mut len = std::mem::size_of::<SockAddrAny>() as SockLen;
    // SAFETY: `any` and `len` are live, exclusively borrowed locals; `len` holds the size of
    // `any`, so getpeername(2) writes at most that many bytes into it and the true length
    // into `len`. The descriptor is borrowed, hence open, for the duration of the call.
    let rc = unsafe { getpeername(fd.as_raw_fd(), &mut any, &mut len) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: every variant starts with the header, and the whole union was initialised
    // (as `v6`, the largest) before the call, so each field read below is of initialised
    // bytes whatever the kernel wrote; the length check picks the variant it did write.
    let (header, v4, v6) = unsafe { (any.header, any.v4, any.v6) };
    let len = len as usize;
    match header.family() {
        AF_INET if len >= std::mem::size_of::<SockAddrIn>() => Ok(SocketAddr::V4(
            SocketAddrV4::new(Ipv4Addr::from(v4.addr), u16::from_be_bytes(v4.port)),
        )),
        AF_INET6 if len >= std::mem::size_of::<SockAddrIn6>() => {
            Ok(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(v6.addr),
                u16::from_be_bytes(v6.port),
                u32::from_be_bytes(v6.flowinfo),
                v6.scope_id,
            )))
        }
        family => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the peer's address family is {family}, neither IPv4 nor IPv6"),
        )),
    }
}

impl SockAddrHeader {
    /// An all-zero header, for a buffer the kernel fills in.
    #[cfg(not(any(target_os = "macos", target_os = "ios", target_os = "freebsd")))]
    const fn zeroed() -> SockAddrHeader {
        SockAddrHeader { family: 0 }
    }
    /// The address family (`AF_INET`, `AF_INET6`, …).
    #[cfg(not(any(target_os = "macos", target_os = "ios", target_os = "freebsd")))]
    fn family(self) -> u16 {
        self.family
    }
    #[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
    fn family(self) -> u16 {
        u16::from(self.family)
    }
    #[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
    const fn zeroed() -> SockAddrHeader {
        SockAddrHeader { len: 0, family: 0 }
    }
}
// ANCHOR_END: getpeername
