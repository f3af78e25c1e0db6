package stream

// alaw expands one G.711 A-law byte to a 16-bit linear sample.
func alaw(v byte) int16 {
	v ^= 0x55
	t := int16(v&0x0f) << 4
	seg := (v & 0x70) >> 4
	switch seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t += 0x108
		t <<= seg - 1
	}
	if v&0x80 != 0 {
		return t
	}
	return -t
}

// mulaw expands one G.711 µ-law byte to a 16-bit linear sample.
func mulaw(v byte) int16 {
	v = ^v
	t := (int16(v&0x0f) << 3) + 0x84
	t <<= (v & 0x70) >> 4
	if v&0x80 != 0 {
		return 0x84 - t
	}
	return t - 0x84
}
