// PARLEY_WIRE_MESSAGES(X): X(Type) for every message type of wire/messages.h
// (not the Frame variants). Internal to the wire layer's sources, which use it
// to declare and instantiate one function per message.
#pragma once

#define PARLEY_WIRE_MESSAGES(X) \
  X(SignedPreKey)               \
  X(OneTimePreKey)              \
  X(RegisterRequest)            \
  X(AuthenticateRequest)        \
  X(CreateLinkCodeRequest)      \
  X(LinkDeviceRequest)          \
  X(ListDevicesRequest)         \
  X(UnlinkDeviceRequest)        \
  X(SetUsernameRequest)         \
  X(DeleteAccountRequest)       \
  X(UploadKeysRequest)          \
  X(GetPreKeyCountRequest)      \
  X(GetBundlesRequest)          \
  X(LookupUsernameRequest)      \
  X(GetIdentityKeysRequest)     \
  X(OutgoingMessage)            \
  X(SendMessagesRequest)        \
  X(RecipientMessages)          \
  X(SendMultiRecipientRequest)  \
  X(PingRequest)                \
  X(Request)                    \
  X(RegisterResult)             \
  X(LinkDeviceResult)           \
  X(CreateLinkCodeResult)       \
  X(DeviceInfo)                 \
  X(ListDevicesResult)          \
  X(PreKeyCountResult)          \
  X(DeviceBundle)               \
  X(BundlesResult)              \
  X(UsernameLookupResult)       \
  X(DeviceIdentity)             \
  X(IdentityKeysResult)         \
  X(SendResult)                 \
  X(MismatchedDevices)          \
  X(RecipientResult)            \
  X(SendMultiRecipientResult)   \
  X(Response)                   \
  X(Envelope)                   \
  X(QueueEmpty)                 \
  X(PreKeysLow)                 \
  X(Push)                       \
  X(PushAck)
