package bench

import (
	"bytes"
	"fmt"
)

// BizTalk system property names used in the message context.
const (
	sysNS           = "http://schemas.microsoft.com/BizTalk/2003/system-properties#"
	propMessageType = sysNS + "MessageType"
	propReceivePort = sysNS + "ReceivePortName"
	propInboundType = sysNS + "InboundTransportType"
	propInboundLoc  = sysNS + "InboundTransportLocation"
	propInterchange = sysNS + "InterchangeID"
	propSent        = "http://biztier.dev/bench#Sent"
)

// Message types of the scenarios, written as BizTalk writes them
// (target namespace#root element).
const (
	typeOrder        = "http://biztier.dev/bench/po#Order"
	typeConfirmation = "http://biztier.dev/bench/po#Confirmation"
)

// contextProps is the context every message carries besides its type and
// send time: what a FILE receive location stamps on a message.
var contextProps = [][2]string{
	{propReceivePort, "ReceivePort_Orders"},
	{propInboundType, "FILE"},
	{propInboundLoc, `C:\BizTalk\In\Orders\*.xml`},
	{propInterchange, "{5B7A3C1E-2D4F-4A6B-9C8D-0E1F2A3B4C5D}"},
}

// encodeContext writes the context as name=value lines: the bytes the
// systems without a typed context store beside the body.
func encodeContext(typ string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s=%s\n", propMessageType, typ)
	for _, p := range contextProps {
		fmt.Fprintf(&b, "%s=%s\n", p[0], p[1])
	}
	return b.Bytes()
}

// xmlBody returns a purchase order document of size bytes, made of
// repeated order lines padded with whitespace; it is only well formed when
// size leaves room for the envelope (about 200 bytes).
func xmlBody(size int) []byte {
	const head = `<?xml version="1.0" encoding="utf-8"?><ns0:Order xmlns:ns0="http://biztier.dev/bench/po"><Header><Id>PO-000042</Id><Customer>Contoso</Customer></Header><Lines>`
	const tail = `</Lines></ns0:Order>`
	out := []byte(head)
	for i := 0; ; i++ {
		line := fmt.Appendf(nil, `<Line n="%d"><Sku>SKU-%05d</Sku><Qty>%d</Qty><Price>%d.95</Price></Line>`, i, i*7%100000, i%9+1, i%500)
		if len(out)+len(line)+len(tail) > size {
			break
		}
		out = append(out, line...)
	}
	for len(out)+len(tail) < size {
		out = append(out, ' ')
	}
	out = append(out, tail...)
	return out[:min(len(out), max(size, 0))]
}
