package bam

import (
	"time"

	"github.com/biztier/biztier/internal/keys"
)

// Key schema. Every key starts with its table byte (internal/keys); the
// components after it are order-preserving (keys.Append*).
//
//	Meta           0x50 kind                              (format, decoder position, cube marks)
//	Definitions    0x50 is the catalog's home: 0x51 0x00  the deployed catalog
//	Deployments    0x52 seq                               deploy history
//	Active         0x53 activity id                       an active instance
//	Completed      0x54 activity partition completed id   a completed instance
//	CompletedByID  0x55 activity id                       -> partition, completed
//	Continuations  0x56 activity token                    -> parent, ended
//	Spool          0x57 seq                               a buffered event
//	Aggregations   0x58 rta slice dims...                 an RTA cell
//	Failed         0x59 seq                               an event the decoder could not apply
//	Profiles       0x5A name                              a bound tracking profile

var (
	formatKey  = []byte{byte(keys.TableBAMMeta), 1}
	decoderKey = []byte{byte(keys.TableBAMMeta), 2}
	catalogKey = []byte{byte(keys.TableBAMDefinitions), 0}
)

// formatVersion is the BAM database's on-disk format.
const formatVersion = 1

func cubeMarkKey(cube string) []byte {
	return keys.AppendString([]byte{byte(keys.TableBAMMeta), 3}, cube)
}

func historyKey(seq uint64) []byte {
	return keys.AppendUint64(keys.AppendTable(nil, keys.TableBAMDeployments), seq)
}

func activePrefix(activity string) []byte {
	return keys.AppendString(keys.AppendTable(nil, keys.TableBAMActive), activity)
}

func activeKey(activity, id string) []byte {
	return keys.AppendString(activePrefix(activity), id)
}

func completedPrefix(activity string) []byte {
	return keys.AppendString(keys.AppendTable(nil, keys.TableBAMCompleted), activity)
}

func partitionPrefix(activity string, partition time.Time) []byte {
	return keys.AppendTime(completedPrefix(activity), partition)
}

func completedKey(activity string, partition, completed time.Time, id string) []byte {
	return keys.AppendString(keys.AppendTime(partitionPrefix(activity, partition), completed), id)
}

func byIDPrefix(activity string) []byte {
	return keys.AppendString(keys.AppendTable(nil, keys.TableBAMCompletedByID), activity)
}

func byIDKey(activity, id string) []byte {
	return keys.AppendString(byIDPrefix(activity), id)
}

func contPrefix(activity string) []byte {
	return keys.AppendString(keys.AppendTable(nil, keys.TableBAMContinuations), activity)
}

func contKey(activity, token string) []byte {
	return keys.AppendString(contPrefix(activity), token)
}

func spoolKey(seq uint64) []byte {
	return keys.AppendUint64(keys.AppendTable(nil, keys.TableBAMSpool), seq)
}

func failedKey(seq uint64) []byte {
	return keys.AppendUint64(keys.AppendTable(nil, keys.TableBAMFailed), seq)
}

func rtaPrefix(rta string) []byte {
	return keys.AppendString(keys.AppendTable(nil, keys.TableBAMAggregations), rta)
}

func cellKey(rta string, slice time.Time, dims []string) []byte {
	k := keys.AppendTime(rtaPrefix(rta), slice)
	for _, d := range dims {
		k = keys.AppendString(k, d)
	}
	return k
}

func profileKey(name string) []byte {
	return keys.AppendString(keys.AppendTable(nil, keys.TableBAMProfiles), name)
}
