// Package summary writes the few lines worth reading about a meeting, each grounded in its
// transcript: the decisions taken, the next steps (its commitments), the risks and objections, the
// open questions, and — when a local language model is configured — a short narrative. Every line
// cites the segments it comes from, so that a reader can go to the moment it was said.
//
// Extract needs no model and always works. A Narrator (ChatNarrator: any OpenAI-compatible
// chat-completions endpoint, such as a llama.cpp server or Ollama) may add a narrative, which
// Check keeps only where each sentence cites segments that exist and share its words; Narrate
// bounds the call by a timeout and falls back to no narrative, so a summary never waits on a model.
//
// Concurrency: everything here is a function of its arguments; a ChatNarrator may be shared.
// Nothing in this package starts a goroutine.
package summary
