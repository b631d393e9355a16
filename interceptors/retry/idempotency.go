package retry

import (
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/bulwarkrpc/bulwark/internal/attempt"
	"github.com/bulwarkrpc/bulwark/internal/method"
)

// safeToRetry reports whether an attempt of method that failed with err may
// be sent again: as the policy's override or the method's descriptor says,
// and always when err proves the server did not process the request
// (a local reject, or an ApplicationError marked unprocessed).
func (r *Retrier) safeToRetry(method string, p *policy, err error) bool {
	return r.idempotent(method, p) || attempt.Unprocessed(err)
}

// idempotent reports whether method may be sent more than once: as the
// policy's override says, else as its descriptor says.
func (r *Retrier) idempotent(method string, p *policy) bool {
	if p.safe != 0 {
		return p.safe > 0
	}
	if v, ok := r.idempotency.Load(method); ok {
		return v.(bool)
	}
	safe := descriptorIdempotent(method)
	r.idempotency.Store(method, safe)
	return safe
}

// descriptorIdempotent reports whether the descriptor of fullMethod (a full
// method name, "/package.Service/Method") in protoregistry.GlobalFiles says
// idempotency_level IDEMPOTENT or NO_SIDE_EFFECTS. A method that is not
// registered is not idempotent.
func descriptorIdempotent(fullMethod string) bool {
	service, name, ok := method.Parse(fullMethod)
	if !ok {
		return false
	}
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(service))
	if err != nil {
		return false
	}
	sd, ok := d.(protoreflect.ServiceDescriptor)
	if !ok {
		return false
	}
	md := sd.Methods().ByName(protoreflect.Name(name))
	if md == nil {
		return false
	}
	mo, ok := md.Options().(*descriptorpb.MethodOptions)
	if !ok {
		return false
	}
	switch mo.GetIdempotencyLevel() {
	case descriptorpb.MethodOptions_IDEMPOTENT, descriptorpb.MethodOptions_NO_SIDE_EFFECTS:
		return true
	}
	return false
}
