package host

import (
	"fmt"

	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/mgmt"
)

// PropSPTransportID is the property that routes a message to the send
// port or send port group it is sent through (BizTalk's BTS.SPTransportID).
const PropSPTransportID = mgmt.PropSPTransportID

// Through addresses m to the send port or send port group that the
// orchestration's logical port is bound to, as an orchestration's Send
// shape does: it promotes BTS.SPTransportID, which that port's
// subscription matches whatever its filter. A Service calls it on the
// messages its persistence point publishes. Errors: mgmt.ErrNotFound for
// an unknown orchestration or logical port, ErrNoPort for a logical port
// bound to no send port or group.
func Through(mg *mgmt.Store, orchestration, logicalPort string, m *messagebox.Message) error {
	o, err := mg.Orchestration(orchestration)
	if err != nil {
		return err
	}
	for _, p := range o.Ports {
		if p.Name != logicalPort {
			continue
		}
		var ref mgmt.Ref
		switch {
		case p.SendPort != "":
			ref = mgmt.Ref{Kind: mgmt.KindSendPort, Name: p.SendPort}
		case p.SendPortGroup != "":
			ref = mgmt.Ref{Kind: mgmt.KindSendPortGroup, Name: p.SendPortGroup}
		default:
			return fmt.Errorf("%w: %s's logical port %s is bound to none", ErrNoPort, orchestration, logicalPort)
		}
		setProperty(m, messagebox.Promoted(PropSPTransportID, messagebox.String(mgmt.TransportID(ref).String())))
		return nil
	}
	return fmt.Errorf("%w: %s has no logical port %s", mgmt.ErrNotFound, orchestration, logicalPort)
}
