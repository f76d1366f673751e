//go:build linux

package bench

import "os"

// processWriteBytes returns the process's write_bytes from /proc/self/io:
// every goroutine's writes (embedded servers and background compactions
// included), in bytes sent to the block layer, fsynced log writes among
// them.
func processWriteBytes() (int64, error) {
	data, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0, err
	}
	return parseWriteBytes(data)
}
