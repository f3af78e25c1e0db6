// Package recap turns a stored meeting into what people read after it: the recap (Markdown and
// HTML), exports (JSON, VTT, SRT, TXT, CSV, ICS, RTTM) and the deal report that sums up every
// meeting of a deal. It reads the record through MeetingSource and DealSource and never writes it.
//
// Concurrency: everything here is a function of what it reads; the templates are parsed once and
// shared. Nothing in this package starts a goroutine.
package recap
