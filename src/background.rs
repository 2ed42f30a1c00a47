//! `watch --background`: started at logon on Windows (the user's Run key),
//! a console program gets a console window of its own; it is hidden, so
//! that only the screen pops show. A console shared with other programs (a
//! terminal the user started it from) is left alone, and so is every other
//! platform, where a session starts it without a terminal anyway.

/// Hides this program's console window when it is its own.
pub(crate) fn leave_the_console() {
    #[cfg(windows)]
    {
        use windows_sys::Win32::System::Console::{GetConsoleProcessList, GetConsoleWindow};
        use windows_sys::Win32::UI::WindowsAndMessaging::{ShowWindow, SW_HIDE};
        let mut ids = [0u32; 2];
        // SAFETY: the buffer and its length match; the window handle is
        // the console's, or null (no console: nothing to hide).
        unsafe {
            let window = GetConsoleWindow();
            if !window.is_null() && GetConsoleProcessList(ids.as_mut_ptr(), 2) == 1 {
                ShowWindow(window, SW_HIDE);
                tracing::debug!("the console window is hidden");
            }
        }
    }
}
