package server

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of the text people type into a meeting, wherever it enters: the overlay's changes, the
// join page, a WHIP publisher's query.
const (
	MaxNameLen = 80  // characters of a speaker's name, an owner, an organisation, "by"
	MaxWhatLen = 500 // characters of a commitment's action
)

// TextError is text that CheckText refused. Its Message is for the person who typed it.
type TextError struct {
	Field   string // as that person knows it: "name", "org", "what"
	Problem string // what is wrong and what to do, to follow the field's name
}

func (e *TextError) Error() string { return "server: " + e.Field + " " + e.Problem }

// Message is the sentence that tells the person what to change.
func (e *TextError) Message() string { return e.Field + " " + e.Problem + "." }

// CheckText checks one line of text a person gave in field, and returns it trimmed of spaces,
// or a *TextError. It must be valid UTF-8, at most maxLen characters, not empty unless
// allowEmpty, and hold no control or invisible formatting characters: no line breaks, and none
// of the bidirectional controls (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C) nor
// zero-width characters with which one name can be made to look like another, or to reorder the
// text shown after it. Such text is refused, not cleaned, so that what is recorded is exactly what
// the person sent and they learn what was wrong. The zero-width joiners (U+200C, U+200D) are
// allowed: emoji and several scripts need them.
func CheckText(field, v string, maxLen int, allowEmpty bool) (string, error) {
	v = strings.TrimSpace(v)
	switch {
	case v == "" && !allowEmpty:
		return "", &TextError{field, "must not be empty"}
	case !utf8.ValidString(v):
		return "", &TextError{field, "must be valid UTF-8 text"}
	case utf8.RuneCountInString(v) > maxLen:
		return "", &TextError{field, fmt.Sprintf("is longer than %d characters: shorten it", maxLen)}
	case strings.ContainsFunc(v, hidden):
		return "", &TextError{field, "must be one line of plain text, without control, bidirectional or invisible formatting characters"}
	}
	return v, nil
}

// hidden reports the characters CheckText refuses: controls (Cc), formatting characters (Cf,
// among them every bidirectional control) but the joiners, and line and paragraph separators.
func hidden(r rune) bool {
	switch {
	case r == '\u200c', r == '\u200d':
		return false
	case unicode.IsControl(r), unicode.Is(unicode.Cf, r), unicode.Is(unicode.Zl, r), unicode.Is(unicode.Zp, r):
		return true
	}
	return false
}
