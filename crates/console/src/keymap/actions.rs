//! The named things a key can do, and the layers they belong to.

/// Where a key is looked up. The router asks the top-most layer first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layer {
    Global,
    Fleet,
    Rings,
    Evidence,
    Approvals,
    Log,
    Detail,
    Dialog,
    TextInput,
    /// The command and filter line: completion and history.
    Prompt,
}

impl Layer {
    pub const ALL: [Layer; 10] = [
        Layer::Global,
        Layer::Fleet,
        Layer::Rings,
        Layer::Evidence,
        Layer::Approvals,
        Layer::Log,
        Layer::Detail,
        Layer::Dialog,
        Layer::TextInput,
        Layer::Prompt,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Layer::Global => "global",
            Layer::Fleet => "fleet",
            Layer::Rings => "rings",
            Layer::Evidence => "evidence",
            Layer::Approvals => "approvals",
            Layer::Log => "log",
            Layer::Detail => "detail",
            Layer::Dialog => "dialog",
            Layer::TextInput => "text_input",
            Layer::Prompt => "prompt",
        }
    }

    pub fn parse(name: &str) -> Option<Layer> {
        Layer::ALL.into_iter().find(|l| l.name() == name)
    }

    /// Heading in the help overlay.
    pub fn title(self) -> &'static str {
        match self {
            Layer::Global => "Everywhere",
            Layer::Fleet => "Fleet pane",
            Layer::Rings => "Rings pane",
            Layer::Evidence => "Evidence pane",
            Layer::Approvals => "Approvals pane",
            Layer::Log => "Log pane",
            Layer::Detail => "Detail view",
            Layer::Dialog => "Dialogs",
            Layer::TextInput => "Text fields (other characters are typed)",
            Layer::Prompt => "Command and filter line",
        }
    }

    /// The layer the router asks right after this one, whose keys this one can hide.
    pub fn asked_before(self) -> Option<Layer> {
        match self {
            Layer::Fleet
            | Layer::Rings
            | Layer::Evidence
            | Layer::Approvals
            | Layer::Log
            | Layer::Detail => Some(Layer::Global),
            Layer::TextInput | Layer::Prompt => Some(Layer::Dialog),
            Layer::Global | Layer::Dialog => None,
        }
    }

    /// Whether a key of this layer would take `action` of `below` away. A detail view
    /// only passes quit, help and the command line on to the global layer, so only those
    /// matter there.
    pub fn hides(self, below: Layer, action: NamedAction) -> bool {
        match (self, below) {
            (Layer::Detail, Layer::Global) => {
                matches!(
                    action,
                    NamedAction::Quit | NamedAction::Help | NamedAction::Command
                )
            }
            // The command line borrows only cancel and activate from dialogs.
            (Layer::Prompt, Layer::Dialog) => {
                matches!(action, NamedAction::Cancel | NamedAction::Activate)
            }
            _ => true,
        }
    }

    /// The actions a binding in this layer may name.
    pub fn allows(self, action: NamedAction) -> bool {
        use NamedAction as A;
        match self {
            Layer::Global => matches!(
                action,
                A::Quit
                    | A::Help
                    | A::NextPane
                    | A::PrevPane
                    | A::FocusFleet
                    | A::FocusRings
                    | A::FocusEvidence
                    | A::FocusApprovals
                    | A::FocusLog
                    | A::Zoom
                    | A::Up
                    | A::Down
                    | A::PageUp
                    | A::PageDown
                    | A::Top
                    | A::Bottom
                    | A::Open
                    | A::Command
                    | A::Filter
                    | A::ClearFilter
                    | A::Mark
                    | A::ToggleTime
            ),
            Layer::Fleet => matches!(action, A::Sort | A::ReverseSort | A::Drill),
            Layer::Rings => matches!(
                action,
                A::Sort | A::ReverseSort | A::Pause | A::Resume | A::Rollback
            ),
            Layer::Evidence => matches!(action, A::Sort | A::ReverseSort | A::Drill),
            Layer::Approvals => {
                matches!(action, A::Sort | A::ReverseSort | A::Approve | A::Reject)
            }
            Layer::Log => matches!(action, A::Follow | A::Wrap),
            Layer::Detail => matches!(
                action,
                A::Close
                    | A::Up
                    | A::Down
                    | A::PageUp
                    | A::PageDown
                    | A::Top
                    | A::Bottom
                    | A::Approve
                    | A::Reject
                    | A::Pause
                    | A::Resume
                    | A::Rollback
                    | A::Drill
            ),
            Layer::Dialog => {
                matches!(
                    action,
                    A::Cancel | A::Activate | A::NextField | A::PrevField
                )
            }
            Layer::TextInput => matches!(
                action,
                A::DeleteBack
                    | A::DeleteForward
                    | A::CursorLeft
                    | A::CursorRight
                    | A::WordLeft
                    | A::WordRight
                    | A::LineStart
                    | A::LineEnd
                    | A::DeleteWord
                    | A::ClearField
            ),
            Layer::Prompt => matches!(action, A::Complete | A::HistoryPrev | A::HistoryNext),
        }
    }
}

macro_rules! named_actions {
    ($($variant:ident => $name:literal, $desc:literal;)*) => {
        /// A thing a key can do; the keymap file names them.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum NamedAction { $($variant,)* }

        impl NamedAction {
            pub const ALL: &'static [NamedAction] = &[$(NamedAction::$variant,)*];

            pub fn name(self) -> &'static str {
                match self { $(NamedAction::$variant => $name,)* }
            }

            /// What it does, for the help overlay and the footer.
            pub fn describe(self) -> &'static str {
                match self { $(NamedAction::$variant => $desc,)* }
            }
        }
    };
}

named_actions! {
    Quit => "quit", "quit";
    Help => "help", "help";
    NextPane => "next_pane", "next pane";
    PrevPane => "prev_pane", "previous pane";
    FocusFleet => "focus_fleet", "fleet";
    FocusRings => "focus_rings", "rings";
    FocusEvidence => "focus_evidence", "evidence";
    FocusApprovals => "focus_approvals", "approvals";
    FocusLog => "focus_log", "log";
    Zoom => "zoom", "zoom";
    Up => "up", "up";
    Down => "down", "down";
    PageUp => "page_up", "page up";
    PageDown => "page_down", "page down";
    Top => "top", "first";
    Bottom => "bottom", "last";
    Open => "open", "details";
    Command => "command", "command line";
    Filter => "filter", "filter";
    ClearFilter => "clear_filter", "clear filter and marks";
    Mark => "mark", "mark";
    ToggleTime => "toggle_time", "UTC/local time";
    Close => "close", "close";
    Sort => "sort", "sort";
    ReverseSort => "reverse_sort", "reverse";
    Drill => "drill", "drill now";
    Pause => "pause", "pause";
    Resume => "resume", "resume";
    Rollback => "rollback", "rollback";
    Approve => "approve", "approve";
    Reject => "reject", "reject";
    Follow => "follow", "follow";
    Wrap => "wrap", "wrap";
    Cancel => "cancel", "cancel";
    Activate => "activate", "press";
    NextField => "next_field", "next field";
    PrevField => "prev_field", "previous field";
    DeleteBack => "delete_back", "delete before cursor";
    DeleteForward => "delete_forward", "delete at cursor";
    CursorLeft => "cursor_left", "cursor left";
    CursorRight => "cursor_right", "cursor right";
    WordLeft => "word_left", "word left";
    WordRight => "word_right", "word right";
    LineStart => "line_start", "start of line";
    LineEnd => "line_end", "end of line";
    DeleteWord => "delete_word", "delete word";
    ClearField => "clear_field", "clear field";
    Complete => "complete", "complete";
    HistoryPrev => "history_prev", "older command";
    HistoryNext => "history_next", "newer command";
}

impl Layer {
    /// The layers whose actions can be run from command mode as `:action_name`: the
    /// ones that act on the console rather than edit a field.
    pub fn commandable(self) -> bool {
        !matches!(self, Layer::Dialog | Layer::TextInput | Layer::Prompt)
    }
}

impl NamedAction {
    pub fn parse(name: &str) -> Option<NamedAction> {
        NamedAction::ALL.iter().copied().find(|a| a.name() == name)
    }

    /// Whether the action sends a change to the server (a decision, a workflow step, a
    /// drill). Such an action only ever opens a dialog with focus on Cancel; no key
    /// sends it by itself (`tests/rel_console_safety.rs` holds every keymap to this).
    pub fn destructive(self) -> bool {
        use NamedAction as A;
        matches!(
            self,
            A::Approve | A::Reject | A::Pause | A::Resume | A::Rollback | A::Drill
        )
    }
}
