package main

// Symbols mark job states the same way in every line apply prints.
const (
	symOK     = "✓"
	symFail   = "✗"
	symRetry  = "↻"
	symSubmit = "→"
	symWait   = "…"
	symSkip   = "–"
)

// style paints terminal text. It paints only for a terminal, and never
// when NO_COLOR is set (https://no-color.org) or TERM is dumb.
type style struct{ color bool }

func newStyle(w any, getenv func(string) string) style {
	return style{color: isTerminal(w) && getenv("NO_COLOR") == "" && getenv("TERM") != "dumb"}
}

func (s style) paint(code, text string) string {
	if !s.color || text == "" {
		return text
	}
	return "\x1b[" + code + "m" + text + "\x1b[0m"
}

func (s style) ok(text string) string   { return s.paint("32", text) }
func (s style) fail(text string) string { return s.paint("31", text) }
func (s style) warn(text string) string { return s.paint("33", text) }
func (s style) dim(text string) string  { return s.paint("2", text) }
func (s style) bold(text string) string { return s.paint("1", text) }
