//! The transfer's stages as indicatif spinners on a terminal, or one plain line per change
//! when stderr is not a terminal (scripts, CI logs).

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

pub struct Stage {
    bar: Option<ProgressBar>,
    name: &'static str,
    last: String,
}

pub struct Progress {
    multi: Option<MultiProgress>,
}

impl Progress {
    pub fn new() -> Self {
        let multi = std::io::stderr()
            .is_terminal()
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Self { multi }
    }

    /// A line above the stages (or on its own, without a terminal).
    pub fn note(&self, line: String) {
        match &self.multi {
            Some(m) => {
                let _ = m.println(line);
            }
            None => eprintln!("{line}"),
        }
    }

    pub fn stage(&self, name: &'static str) -> Stage {
        let bar = self.multi.as_ref().map(|m| {
            let bar = m.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner:.cyan} {prefix:<10.bold} {msg} {elapsed:.dim}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_prefix(name);
            bar.set_message("waiting");
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Stage {
            bar,
            name,
            last: String::new(),
        }
    }
}

impl Stage {
    pub fn update(&mut self, message: String) {
        if message == self.last {
            return;
        }
        match &self.bar {
            Some(bar) => bar.set_message(message.clone()),
            None => eprintln!("{:<10} {message}", self.name),
        }
        self.last = message;
    }

    pub fn done(&mut self, message: String) {
        match &self.bar {
            Some(bar) => {
                bar.set_style(
                    ProgressStyle::with_template("✔ {prefix:<10.bold.green} {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.finish_with_message(message.clone());
            }
            None => eprintln!("{:<10} ✔ {message}", self.name),
        }
        self.last = message;
    }

    pub fn fail(&mut self, message: String) {
        match &self.bar {
            Some(bar) => bar.abandon_with_message(format!("✘ {message}")),
            None => eprintln!("{:<10} ✘ {message}", self.name),
        }
    }
}
