//! Native file dialogs (rfd, GTK), always from async commands and parented
//! to the calling window. Tests script the answers instead.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Mutex;

use tauri::{Runtime, Window};

use crate::settings::Language;
use crate::words::{self, Dialog};

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

    /// An open dialog worded in `lang`, for files with `extensions`;
    /// `None` when cancelled.
    pub async fn pick<R: Runtime>(
        &self,
        window: &Window<R>,
        lang: Language,
        which: Dialog,
        extensions: &[&str],
    ) -> Option<PathBuf> {
        if let Some(answer) = self.scripted() {
            return answer;
        }
        let (title, filter, all) = words::dialog(lang, which);
        rfd::AsyncFileDialog::new()
            .set_title(title)
            .add_filter(filter, extensions)
            .add_filter(all, &["*"])
            .set_parent(window)
            .pick_file()
            .await
            .map(|f| f.path().to_path_buf())
    }

    /// An open dialog worded in `lang` choosing one or more files with
    /// `extensions`; `None` when cancelled (a scripted answer is one file).
    pub async fn pick_many<R: Runtime>(
        &self,
        window: &Window<R>,
        lang: Language,
        which: Dialog,
        extensions: &[&str],
    ) -> Option<Vec<PathBuf>> {
        if let Some(answer) = self.scripted() {
            return answer.map(|p| vec![p]);
        }
        let (title, filter, all) = words::dialog(lang, which);
        rfd::AsyncFileDialog::new()
            .set_title(title)
            .add_filter(filter, extensions)
            .add_filter(all, &["*"])
            .set_parent(window)
            .pick_files()
            .await
            .map(|files| files.iter().map(|f| f.path().to_path_buf()).collect())
    }

    /// A save dialog worded in `lang` proposing `file_name`; `None` when
    /// cancelled.
    pub async fn save<R: Runtime>(
        &self,
        window: &Window<R>,
        lang: Language,
        which: Dialog,
        file_name: &str,
    ) -> Option<PathBuf> {
        if let Some(answer) = self.scripted() {
            return answer;
        }
        rfd::AsyncFileDialog::new()
            .set_title(words::dialog(lang, which).0)
            .set_file_name(file_name)
            .set_parent(window)
            .save_file()
            .await
            .map(|f| f.path().to_path_buf())
    }
}
