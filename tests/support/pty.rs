//! The real binary in a real pseudo-terminal, its screen parsed by vt100.

use std::io::{Read as _, Write as _};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

/// A running netlens in a pseudo-terminal.
pub struct PtySession {
    screen: Arc<Mutex<vt100::Parser>>,
    raw: Arc<Mutex<Vec<u8>>>,
    /// Set by the reader thread once the terminal has nothing more to say.
    drained: Arc<AtomicBool>,
    writer: Box<dyn std::io::Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    master: Box<dyn portable_pty::MasterPty + Send>,
}

impl PtySession {
    /// Start netlens with `args` in a `cols`×`rows` terminal, isolated under `home`.
    pub fn spawn(home: &std::path::Path, args: &[&str], cols: u16, rows: u16) -> Self {
        Self::spawn_with_env(home, args, &[], cols, rows)
    }

    /// [`PtySession::spawn`] with extra environment variables.
    pub fn spawn_with_env(
        home: &std::path::Path,
        args: &[&str],
        env: &[(&str, &str)],
        cols: u16,
        rows: u16,
    ) -> Self {
        let pair = native_pty_system()
            .openpty(PtySize { rows, cols, pixel_width: 0, pixel_height: 0 })
            .unwrap_or_else(|e| panic!("openpty: {e}"));
        let mut command = CommandBuilder::new(env!("CARGO_BIN_EXE_netlens"));
        // Tests send no traffic beyond loopback and their own namespaces: no
        // reverse-DNS lookups of whatever this machine is connected to.
        command.arg("--no-reverse-dns");
        command.args(args);
        command.env("TERM", "xterm-256color");
        command.env("XDG_CONFIG_HOME", home.join("config"));
        command.env("XDG_STATE_HOME", home.join("state"));
        command.env("HOME", home);
        command.env_remove("NO_COLOR");
        for (key, value) in env {
            command.env(key, value);
        }
        command.cwd(home);
        let child = pair.slave.spawn_command(command).unwrap_or_else(|e| panic!("spawn: {e}"));
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().unwrap_or_else(|e| panic!("reader: {e}"));
        let writer = pair.master.take_writer().unwrap_or_else(|e| panic!("writer: {e}"));
        let screen = Arc::new(Mutex::new(vt100::Parser::new(rows, cols, 0)));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let drained = Arc::new(AtomicBool::new(false));
        let (screen_in, raw_in, drained_in) = (Arc::clone(&screen), Arc::clone(&raw), Arc::clone(&drained));
        std::thread::spawn(move || {
            let mut buffer = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                if let Ok(mut parser) = screen_in.lock() {
                    parser.process(&buffer[..n]);
                }
                if let Ok(mut raw) = raw_in.lock() {
                    raw.extend_from_slice(&buffer[..n]);
                }
            }
            drained_in.store(true, Ordering::Release);
        });
        Self { screen, raw, drained, writer, child, master: pair.master }
    }

    /// The screen's text now.
    pub fn contents(&self) -> String {
        self.screen.lock().map(|parser| parser.screen().contents()).unwrap_or_default()
    }

    /// Wait until the screen contains every needle; panic with the screen otherwise.
    pub fn wait_for(&self, needles: &[&str], timeout: Duration) -> String {
        let start = Instant::now();
        loop {
            let contents = self.contents();
            if needles.iter().all(|needle| contents.contains(needle)) {
                return contents;
            }
            assert!(start.elapsed() < timeout, "timed out waiting for {needles:?}; screen:\n{contents}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Poll `done` until it holds; panic with the screen after `timeout`.
    fn wait_until(&self, what: &str, timeout: Duration, mut done: impl FnMut(&Self) -> bool) {
        let start = Instant::now();
        while !done(self) {
            assert!(start.elapsed() < timeout, "timed out waiting for {what}; screen:\n{}", self.contents());
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Bytes the program has written so far.
    fn output_len(&self) -> usize {
        self.raw.lock().map(|raw| raw.len()).unwrap_or_default()
    }

    /// Press Esc and wait until the screen shows its effect. A lone Esc followed at
    /// once by another key reads as Alt+key, so the next key must wait for this one.
    pub fn escape(&mut self) {
        let before = self.contents();
        self.send(b"\x1b");
        self.wait_until("Esc to change the screen", Duration::from_secs(10), |session| {
            session.contents() != before
        });
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.process_id().unwrap_or_else(|| panic!("no pid"))
    }

    /// Type keys.
    pub fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).unwrap_or_else(|e| panic!("write: {e}"));
        self.writer.flush().unwrap_or_else(|e| panic!("flush: {e}"));
    }

    /// Resize the terminal.
    pub fn resize(&self, cols: u16, rows: u16) {
        self.master
            .resize(PtySize { rows, cols, pixel_width: 0, pixel_height: 0 })
            .unwrap_or_else(|e| panic!("resize: {e}"));
        let written = self.output_len();
        if let Ok(mut parser) = self.screen.lock() {
            parser.screen_mut().set_size(rows, cols);
        }
        // The program redraws for the new size (a resize always clears the screen).
        self.wait_until("a redraw after the resize", Duration::from_secs(10), |session| {
            session.output_len() > written
        });
    }

    /// Wait for the process to exit and return its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> u32 {
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.exit_code();
            }
            if start.elapsed() > timeout {
                let _ = self.child.kill();
                panic!("netlens did not exit; screen:\n{}", self.contents());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the terminal is back to normal: main screen, cursor shown, mouse
    /// reporting off, and the line discipline in canonical mode with echo.
    pub fn assert_restored(&self) {
        // Everything the program wrote before it exited must be on the screen.
        self.wait_until("the terminal to drain", Duration::from_secs(10), |session| {
            session.drained.load(Ordering::Acquire)
        });
        let parser = self.screen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let screen = parser.screen();
        assert!(!screen.alternate_screen(), "still on the alternate screen");
        assert!(!screen.hide_cursor(), "cursor still hidden");
        assert_eq!(screen.mouse_protocol_mode(), vt100::MouseProtocolMode::None, "mouse capture still on");
        if let Some(termios) = self.master.get_termios() {
            let local = termios.local_flags.bits() as libc::tcflag_t;
            assert!(local & libc::ICANON != 0, "terminal left in raw mode (no ICANON)");
            assert!(local & libc::ECHO != 0, "terminal left in raw mode (no ECHO)");
        }
    }

    /// Everything the program wrote, as text.
    pub fn raw_output(&self) -> String {
        self.raw.lock().map(|raw| String::from_utf8_lossy(&raw).into_owned()).unwrap_or_default()
    }
}

impl Drop for PtySession {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}
