package audit

import (
	"fmt"

	"github.com/biztier/biztier"
)

// ErrCorruption marks an audit record that cannot be decoded. It wraps
// biztier.ErrCorruption.
var ErrCorruption = fmt.Errorf("audit: corrupt record: %w", biztier.ErrCorruption)
