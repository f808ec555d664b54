// Message requests: SendMessages and SendMultiRecipient. A send is checked
// against the recipient's current devices, durably queued by the store
// (idempotent on the client message id) and only then answered; online
// recipient devices are then told to push.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>

#include "server/request_handling.h"

namespace parley::server {
namespace {

using wire::ResponseStatus;

// The outcome of sending to one recipient account.
struct SendOutcome {
  ResponseStatus status = ResponseStatus::kOk;
  const char* detail = "";
  std::optional<wire::MismatchedDevices> mismatched;
  std::optional<std::uint64_t> retry_after_ms;
  std::uint64_t server_timestamp_ms = 0;
};

SendOutcome Refused(ResponseStatus status, const char* detail) {
  SendOutcome outcome;
  outcome.status = status;
  outcome.detail = detail;
  return outcome;
}

std::string PairKey(const AccountId& sender, const AccountId& recipient) {
  return sender.value().ToString() + ">" + recipient.value().ToString();
}

}  // namespace

// Checks, rate-limits, queues and notifies one send; shared by both requests.
static SendOutcome SendToAccount(RequestFrameHandler::Impl& impl, const DeviceKey& sender,
                                 const AccountId& recipient, const wire::ClientMessageId& client_message_id,
                                 const std::vector<wire::OutgoingMessage>& messages, bool sync) {
  const bool own_account = recipient == sender.account;
  if (sync != own_account) {
    return Refused(ResponseStatus::kBadRequest, sync ? "a sync send goes to the sender's own account"
                                                     : "send to your own devices with sync");
  }
  if (sync && std::any_of(messages.begin(), messages.end(),
                          [&](const wire::OutgoingMessage& m) { return m.device_id == sender.device; })) {
    return Refused(ResponseStatus::kBadRequest, "a sync send does not include the sending device");
  }
  auto devices = impl.store.ListDevices(recipient);
  if (!devices) {
    if (devices.error().code == store::StoreErrc::kNotFound) {
      return Refused(ResponseStatus::kNotFound, "no such recipient");
    }
    impl.metrics.store_errors.Increment();
    spdlog::error("event=store_error operation=list_devices error={}", store::ToString(devices.error().code));
    return Refused(devices.error().code == store::StoreErrc::kUnavailable ? ResponseStatus::kUnavailable
                                                                          : ResponseStatus::kInternal,
                   "the store failed");
  }
  wire::MismatchedDevices mismatch;
  for (const store::DeviceRecord& device : *devices) {
    if (sync && device.address.device == sender.device) continue;
    auto entry = std::find_if(messages.begin(), messages.end(), [&](const wire::OutgoingMessage& m) {
      return m.device_id == device.address.device;
    });
    if (entry == messages.end()) {
      mismatch.missing.push_back(device.address.device);
    } else if (entry->registration_id != device.registration_id) {
      mismatch.stale.push_back(device.address.device);
    }
  }
  for (const wire::OutgoingMessage& message : messages) {
    const bool exists = std::any_of(devices->begin(), devices->end(), [&](const store::DeviceRecord& d) {
      return d.address.device == message.device_id;
    });
    if (!exists) mismatch.extra.push_back(message.device_id);
  }
  if (!mismatch.missing.empty() || !mismatch.extra.empty() || !mismatch.stale.empty()) {
    SendOutcome outcome = Refused(ResponseStatus::kMismatchedDevices, "");
    outcome.mismatched = std::move(mismatch);
    return outcome;
  }
  if (!own_account) {
    const std::string pair = PairKey(sender.account, recipient);
    if (const std::uint64_t wait = impl.messages_per_pair.Take(pair); wait != 0) {
      impl.rate_limit_hits_messages.Increment();
      SendOutcome outcome = Refused(ResponseStatus::kRateLimited, "too many messages to this recipient");
      outcome.retry_after_ms = wait;
      return outcome;
    }
  }

  std::vector<store::OutgoingEnvelope> envelopes;
  envelopes.reserve(messages.size());
  for (const wire::OutgoingMessage& message : messages) {
    envelopes.push_back({{recipient, message.device_id}, message.type, message.content});
  }
  store::EnqueueRequest enqueue{
      {sender.account, sender.device}, store::ClientMessageId(client_message_id), envelopes};
  auto queued = impl.store.Enqueue(enqueue);
  if (!queued) {
    switch (queued.error().code) {
      case store::StoreErrc::kQueueFull:
        return Refused(ResponseStatus::kQueueFull, "a recipient device's queue is full");
      case store::StoreErrc::kNotFound:
        return Refused(ResponseStatus::kNotFound, "a recipient device no longer exists");
      case store::StoreErrc::kInvalidArgument:
        return Refused(ResponseStatus::kBadRequest, "the send was refused by the store");
      default:
        impl.metrics.store_errors.Increment();
        spdlog::error("event=store_error operation=enqueue error={}", store::ToString(queued.error().code));
        return Refused(queued.error().code == store::StoreErrc::kUnavailable ? ResponseStatus::kUnavailable
                                                                             : ResponseStatus::kInternal,
                       "the store failed");
    }
  }
  if (queued->duplicate) {
    impl.metrics.messages_duplicate.Increment();
  } else {
    impl.metrics.messages_queued.Increment(queued->copies.size());
  }
  SendOutcome outcome;
  outcome.server_timestamp_ms = static_cast<std::uint64_t>(queued->server_timestamp_ms);
  // A duplicate notifies too: harmless (pushes come from the queue), and it
  // covers a first attempt whose notification was lost.
  for (const store::QueuedCopy& copy : queued->copies)
    impl.NotifyQueued({copy.recipient.account, copy.recipient.device});
  return outcome;
}

void RequestFrameHandler::Impl::SendMessages(DeviceSession& session, const wire::SendMessagesRequest& request,
                                             Reply& reply) {
  SendOutcome outcome = SendToAccount(*this, *session.device, request.recipient, request.client_message_id,
                                      request.messages, request.sync);
  if (outcome.status == ResponseStatus::kOk) {
    reply.Ok(wire::SendResult{outcome.server_timestamp_ms});
    return;
  }
  wire::Response response;
  response.status = outcome.status;
  if (outcome.mismatched) {
    response.body = std::move(*outcome.mismatched);
  } else {
    response.error_detail = outcome.detail;
  }
  response.retry_after_ms = outcome.retry_after_ms;
  reply.Send(std::move(response));
}

void RequestFrameHandler::Impl::SendMultiRecipient(DeviceSession& session,
                                                   const wire::SendMultiRecipientRequest& request,
                                                   Reply& reply) {
  wire::SendMultiRecipientResult result;
  result.server_timestamp_ms = static_cast<std::uint64_t>(clock.NowMillis());
  for (const wire::RecipientMessages& part : request.recipients) {
    SendOutcome outcome =
        SendToAccount(*this, *session.device, part.recipient, part.client_message_id, part.messages, false);
    wire::RecipientResult entry;
    entry.recipient = part.recipient;
    entry.status = outcome.status;
    entry.mismatched_devices = std::move(outcome.mismatched);
    entry.retry_after_ms = outcome.retry_after_ms;
    result.results.push_back(std::move(entry));
  }
  reply.Ok(std::move(result));
}

}  // namespace parley::server
