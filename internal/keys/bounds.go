package keys

// PrefixSuccessor returns the smallest key that is greater than every key
// starting with prefix, for use as an iterator's exclusive UpperBound. It
// drops trailing 0xFF bytes and increments the last remaining byte. It
// returns nil when no such key exists (prefix is empty or all 0xFF), which as
// an UpperBound means "no upper bound".
//
// The result is a new slice; prefix is not modified.
func PrefixSuccessor(prefix []byte) []byte {
	for i := len(prefix) - 1; i >= 0; i-- {
		if prefix[i] != 0xFF {
			succ := make([]byte, i+1)
			copy(succ, prefix)
			succ[i]++
			return succ
		}
	}
	return nil
}

// PrefixBounds returns the iterator bounds that cover exactly the keys
// starting with prefix: lower is prefix itself (it aliases the argument, so
// don't modify prefix while an iterator uses it) and upper is
// PrefixSuccessor(prefix), nil when there is no upper bound.
func PrefixBounds(prefix []byte) (lower, upper []byte) {
	return prefix, PrefixSuccessor(prefix)
}
