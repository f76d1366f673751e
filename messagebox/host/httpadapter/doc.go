// Package httpadapter is BizTalk's HTTP adapter for the host runtime.
//
// # Receive
//
// An Adapter is an http.Handler: mount it on any server. Each receive
// location that uses it (TransportType "HTTP") takes the requests whose URL
// path is the location's address (the path of a full URL, such as
// "/orders" or "http://host/orders/submit"). A POST's body becomes a
// message (its Content-Type the part's) and is submitted to the host
// runtime; the answer says what happened:
//
//   - 202 Accepted once the message is committed (routed);
//   - 400 Bad Request when the receive pipeline refused the document
//     (pipeline.ErrDisassembly), 500 Internal Server Error when no
//     subscription matched (messagebox.ErrNoSubscribers): the message is
//     committed and suspended in both cases, and the client should not
//     send it again;
//   - 503 Service Unavailable when nothing was committed (the group is
//     closing, say): the client may send it again;
//   - 404 for a path no running location has, 405 for a method other than
//     POST, 413 for a body over Options.MaxBody.
//
// The message ID (or IDs) go back in the X-Message-Id header.
//
// # Send
//
// A send port's address is the URL each message is POSTed to, with the
// body part as the request body (Content-Type from the part, or the
// transport's ContentType property). RequestTimeout (seconds) bounds each
// request (default 60). A 2xx answer completes the entry; 408, 429, 5xx
// and network errors are retried by the port's retry policy; any other
// answer is permanent (host.ErrPermanent) and suspends the entry.
package httpadapter
