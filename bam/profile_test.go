package bam

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestProfile_sharedRoundTrip(t *testing.T) {
	files := sharedFiles(t, "TrackingProfile")
	require.Len(t, files, 2)
	for name, b := range files {
		t.Run(name, func(t *testing.T) {
			p, err := ParseProfileBytes(b)
			require.NoError(t, err)
			for _, utf16 := range []bool{false, true} {
				var out bytes.Buffer
				if utf16 {
					require.NoError(t, p.ExportUTF16(&out))
				} else {
					require.NoError(t, p.Export(&out))
				}
				again, err := ParseProfile(&out)
				require.NoError(t, err)
				require.Equal(t, p, again)
			}
		})
	}
	p, err := ParseProfileBytes(files["btdf-bam-sample-tracking-profile.xml"])
	require.NoError(t, err)
	require.Equal(t, "EndToEndActivity", p.Name)
	require.Equal(t, ItemContinuationID, p.Dimensions[5].DataType)
	require.Equal(t, SourceContextProperty, p.Dimensions[5].Levels[0].SourceTypeSelected)
}
