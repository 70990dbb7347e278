//! Native file dialogs (rfd, GTK), always from async commands and parented
//! to the calling window. Tests script the answers instead.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Mutex;

use tauri::{Runtime, Window};

/// Where dialog answers come from.
pub enum Dialogs {
    Native,
    /// Answers queued by a test, `None` meaning "cancelled".
    Scripted(Mutex<VecDeque<Option<PathBuf>>>),
}

impl Dialogs {
    fn scripted(&self) -> Option<Option<PathBuf>> {
        match self {
            Self::Native => None,
            Self::Scripted(q) => Some(
                q.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .pop_front()
                    .flatten(),
            ),
        }
    }

    /// Queues the answer of the next dialog (tests).
    pub fn push(&self, answer: Option<PathBuf>) {
        if let Self::Scripted(q) = self {
            q.lock()
                .unwrap_or_else(|e| e.into_inner())
                .push_back(answer);
        }
    }

    /// An open dialog; `None` when cancelled.
    pub async fn pick<R: Runtime>(
        &self,
        window: &Window<R>,
        title: &str,
        filter: (&str, &[&str]),
    ) -> Option<PathBuf> {
        if let Some(answer) = self.scripted() {
            return answer;
        }
        rfd::AsyncFileDialog::new()
            .set_title(title)
            .add_filter(filter.0, filter.1)
            .add_filter("All files", &["*"])
            .set_parent(window)
            .pick_file()
            .await
            .map(|f| f.path().to_path_buf())
    }

    /// An open dialog choosing one or more files; `None` when cancelled
    /// (a scripted answer is one file).
    pub async fn pick_many<R: Runtime>(
        &self,
        window: &Window<R>,
        title: &str,
        filter: (&str, &[&str]),
    ) -> Option<Vec<PathBuf>> {
        if let Some(answer) = self.scripted() {
            return answer.map(|p| vec![p]);
        }
        rfd::AsyncFileDialog::new()
            .set_title(title)
            .add_filter(filter.0, filter.1)
            .add_filter("All files", &["*"])
            .set_parent(window)
            .pick_files()
            .await
            .map(|files| files.iter().map(|f| f.path().to_path_buf()).collect())
    }

    /// A save dialog proposing `file_name`; `None` when cancelled.
    pub async fn save<R: Runtime>(
        &self,
        window: &Window<R>,
        title: &str,
        file_name: &str,
    ) -> Option<PathBuf> {
        if let Some(answer) = self.scripted() {
            return answer;
        }
        rfd::AsyncFileDialog::new()
            .set_title(title)
            .set_file_name(file_name)
            .set_parent(window)
            .save_file()
            .await
            .map(|f| f.path().to_path_buf())
    }
}
