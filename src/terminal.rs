//! The terminal guard: raw mode, alternate screen and mouse capture on entry, and
//! their undoing on drop, on panic and (through the app loop) on signals.

use std::io::{self, Stdout};

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use ratatui::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::crossterm::{cursor, execute};

/// The TUI's terminal; restores the user's terminal when dropped.
pub struct TerminalGuard {
    /// `None` only while the guard is dropped.
    terminal: Option<Terminal<CrosstermBackend<Stdout>>>,
}

impl TerminalGuard {
    /// Take over the terminal. Installs a panic hook that restores it first, so a
    /// panic message lands on a usable screen.
    pub fn enter() -> io::Result<Self> {
        install_panic_hook();
        enable_raw_mode()?;
        let mut stdout = io::stdout();
        if let Err(error) = execute!(stdout, EnterAlternateScreen, EnableMouseCapture, cursor::Hide) {
            restore();
            return Err(error);
        }
        match Terminal::new(CrosstermBackend::new(stdout)) {
            Ok(terminal) => Ok(Self { terminal: Some(terminal) }),
            Err(error) => {
                restore();
                Err(error)
            }
        }
    }

    /// The ratatui terminal to draw on.
    pub fn terminal(&mut self) -> io::Result<&mut Terminal<CrosstermBackend<Stdout>>> {
        self.terminal.as_mut().ok_or_else(|| io::Error::other("the terminal has been released"))
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
        if let Some(mut terminal) = self.terminal.take()
            && terminal.show_cursor().is_err()
        {
            // The terminal is gone (its window closed: writes fail with EIO). ratatui's
            // own drop would try to show the cursor again and, failing, `eprintln!` —
            // which panics when stderr is that same dead terminal. Nothing is left to
            // restore, and the process is on its way out: skip that drop.
            std::mem::forget(terminal);
        }
    }
}

/// Undo everything [`TerminalGuard::enter`] did; harmless when repeated.
pub fn restore() {
    let _ = execute!(io::stdout(), DisableMouseCapture, LeaveAlternateScreen, cursor::Show);
    let _ = disable_raw_mode();
}

fn install_panic_hook() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            tracing::error!(%info, "panic");
            previous(info);
        }));
    });
}

/// Restore the terminal if an error escaped while it was still in raw mode.
pub fn restore_if_raw() {
    if ratatui::crossterm::terminal::is_raw_mode_enabled().unwrap_or(false) {
        restore();
    }
}
