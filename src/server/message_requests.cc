// Message requests: SendMessages and SendMultiRecipient. A send is checked
// against the recipient's current devices, durably queued by the store
// (idempotent on the client message id) and only then answered; online
// recipient devices are then told to push.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

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

}  // namespace

// One send that passed its checks, ready for the store.
struct PreparedSend {
  AccountId recipient;
  store::ClientMessageId client_message_id;
  std::vector<store::OutgoingEnvelope> envelopes;
};

// Checks and rate-limits one send; shared by both requests. nullopt: the
// send may go to the store as `prepared`; else the refusal.
static std::optional<SendOutcome> PrepareSend(RequestFrameHandler::Impl& impl, const DeviceKey& sender,
                                              const AccountId& recipient,
                                              const wire::ClientMessageId& client_message_id,
                                              const std::vector<wire::OutgoingMessage>& messages, bool sync,
                                              PreparedSend& prepared) {
  const bool own_account = recipient == sender.account;
  if (sync != own_account) {
    return Refused(ResponseStatus::kBadRequest, sync ? "a sync send goes to the sender's own account"
                                                     : "send to your own devices with sync");
  }
  if (sync && std::any_of(messages.begin(), messages.end(),
                          [&](const wire::OutgoingMessage& m) { return m.device_id == sender.device; })) {
    return Refused(ResponseStatus::kBadRequest, "a sync send does not include the sending device");
  }
  auto devices = impl.store.ListDeviceRegistrations(recipient);
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
  for (const store::DeviceRegistration& device : *devices) {
    if (sync && device.device == sender.device) continue;
    auto entry = std::find_if(messages.begin(), messages.end(),
                              [&](const wire::OutgoingMessage& m) { return m.device_id == device.device; });
    if (entry == messages.end()) {
      mismatch.missing.push_back(device.device);
    } else if (entry->registration_id != device.registration_id) {
      mismatch.stale.push_back(device.device);
    }
  }
  for (const wire::OutgoingMessage& message : messages) {
    const bool exists =
        std::any_of(devices->begin(), devices->end(),
                    [&](const store::DeviceRegistration& d) { return d.device == message.device_id; });
    if (!exists) mismatch.extra.push_back(message.device_id);
  }
  if (!mismatch.missing.empty() || !mismatch.extra.empty() || !mismatch.stale.empty()) {
    SendOutcome outcome = Refused(ResponseStatus::kMismatchedDevices, "");
    outcome.mismatched = std::move(mismatch);
    return outcome;
  }
  // S7: a send to an account the sender has not exchanged messages with
  // spends one token of the sender's first-contact budget (the stricter one
  // while the account is young).
  // With both first-contact limits off (capacity 0) nothing is remembered.
  const RateLimitsConfig& limits = impl.options.rate_limits;
  const bool counting_contacts =
      limits.first_contacts_per_account.capacity > 0 || limits.first_contacts_per_new_account.capacity > 0;
  const bool first_contact =
      counting_contacts && !own_account && !impl.contacts.Known(sender.account, recipient);
  if (first_contact) {
    auto account = impl.store.GetAccount(sender.account);
    if (!account) {
      impl.metrics.store_errors.Increment();
      spdlog::error("event=store_error operation=get_account error={}",
                    store::ToString(account.error().code));
      return Refused(account.error().code == store::StoreErrc::kUnavailable ? ResponseStatus::kUnavailable
                                                                            : ResponseStatus::kInternal,
                     "the store failed");
    }
    const std::int64_t young_ms = std::int64_t{impl.options.rate_limits.new_account_age_hours} * 3600 * 1000;
    const bool young = impl.clock.NowMillis() - account->created_ms < young_ms;
    TokenBuckets& budget = young ? impl.first_contacts_per_new_account : impl.first_contacts_per_account;
    if (const std::uint64_t wait = budget.Take(sender.account.value().ToString()); wait != 0) {
      impl.rate_limit_hits_first_contact.Increment();
      SendOutcome outcome = Refused(ResponseStatus::kRateLimited, "too many new contacts from this account");
      outcome.retry_after_ms = wait;
      return outcome;
    }
    // Remembered now, not after the commit: a sender's next sends to this
    // recipient may be checked while this one still waits for its group
    // commit, and the token is spent either way.
    impl.contacts.Remember(sender.account, recipient);
  }
  if (!own_account) {
    if (const std::uint64_t wait = impl.messages_per_pair.Take(MakeAccountPair(sender.account, recipient));
        wait != 0) {
      impl.rate_limit_hits_messages.Increment();
      SendOutcome outcome = Refused(ResponseStatus::kRateLimited, "too many messages to this recipient");
      outcome.retry_after_ms = wait;
      return outcome;
    }
  }

  prepared.recipient = recipient;
  prepared.client_message_id = store::ClientMessageId(client_message_id);
  prepared.envelopes.clear();
  prepared.envelopes.reserve(messages.size());
  for (const wire::OutgoingMessage& message : messages) {
    prepared.envelopes.push_back({{recipient, message.device_id}, message.type, message.content});
  }
  return std::nullopt;
}

// The outcome of a prepared send once the store answered; notifies the
// recipients' connections. `sent` is the request the store was given (its
// envelopes carry the content pushed to online devices).
static SendOutcome FinishSend(RequestFrameHandler::Impl& impl, const DeviceKey& sender,
                              const PreparedSend& prepared, const store::EnqueueRequest& sent,
                              const store::StoreResult<store::EnqueueResult>& queued) {
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
  if (queued->duplicate) {
    // Pushes come from the queue: a duplicate only asks the devices to look
    // (it covers a first attempt whose notification was lost).
    for (const store::QueuedCopy& copy : queued->copies)
      impl.NotifyQueued({copy.recipient.account, copy.recipient.device}, std::nullopt);
    return outcome;
  }
  // A fresh send hands each online device its envelope, so the pusher need
  // not read it back from the store.
  for (std::size_t i = 0; i < queued->copies.size() && i < sent.envelopes.size(); ++i) {
    const store::QueuedCopy& copy = queued->copies[i];
    const store::OutgoingEnvelope& envelope_sent = sent.envelopes[i];
    store::StoredEnvelope envelope;
    envelope.server_id = copy.server_id;
    envelope.server_timestamp_ms = queued->server_timestamp_ms;
    envelope.sender = {sender.account, sender.device};
    envelope.recipient = copy.recipient;
    envelope.type = envelope_sent.type;
    envelope.client_message_id = prepared.client_message_id;
    impl.NotifyQueued({copy.recipient.account, copy.recipient.device}, std::move(envelope),
                      envelope_sent.content);
  }
  return outcome;
}

static wire::Response RefusalResponse(SendOutcome outcome) {
  wire::Response response;
  response.status = outcome.status;
  if (outcome.mismatched) {
    response.body = std::move(*outcome.mismatched);
  } else {
    response.error_detail = outcome.detail;
  }
  response.retry_after_ms = outcome.retry_after_ms;
  return response;
}

// A send waiting for its group commit: it owns the request (the envelopes
// point into it) and the reply.
struct PendingSend {
  PendingSend(wire::SendMessagesRequest r, Reply&& re, const DeviceKey& s)
      : request(std::move(r)), reply(std::move(re)), sender(s) {}
  wire::SendMessagesRequest request;
  Reply reply;
  DeviceKey sender;
  PreparedSend prepared;
};

void RequestFrameHandler::Impl::SendMessages(DeviceSession& session, wire::SendMessagesRequest request,
                                             Reply& reply) {
  auto pending = std::make_shared<PendingSend>(std::move(request), std::move(reply), *session.device);
  const wire::SendMessagesRequest& sent = pending->request;
  if (auto refused = PrepareSend(*this, pending->sender, sent.recipient, sent.client_message_id,
                                 sent.messages, sent.sync, pending->prepared)) {
    pending->reply.Send(RefusalResponse(std::move(*refused)));
    return;
  }
  std::vector<store::EnqueueRequest> sends{{{pending->sender.account, pending->sender.device},
                                            pending->prepared.client_message_id,
                                            pending->prepared.envelopes}};
  const store::EnqueueRequest one_send = sends.front();
  writer.Enqueue(std::move(sends), [this, pending,
                                    one_send](std::span<store::StoreResult<store::EnqueueResult>> results) {
    SendOutcome outcome = FinishSend(*this, pending->sender, pending->prepared, one_send, results.front());
    if (outcome.status == ResponseStatus::kOk) {
      pending->reply.Ok(wire::SendResult{outcome.server_timestamp_ms});
    } else {
      pending->reply.Send(RefusalResponse(std::move(outcome)));
    }
  });
}

// A multi-recipient send waiting for its group commit.
struct PendingMultiSend {
  PendingMultiSend(wire::SendMultiRecipientRequest r, Reply&& re, const DeviceKey& s)
      : request(std::move(r)), reply(std::move(re)), sender(s) {}
  wire::SendMultiRecipientRequest request;
  Reply reply;
  DeviceKey sender;
  std::vector<std::optional<SendOutcome>> outcomes;
  std::vector<PreparedSend> prepared;
  // The recipients queued, as indexes into the request, and what was queued.
  std::vector<std::size_t> batch_index;
  std::vector<store::EnqueueRequest> batch;
};

// Each recipient that was sent to gets the time its send was stored (the
// original time for a retried id). The result's own timestamp is the first
// such time, so a retry of the whole request answers with the original one;
// `arrival_ms` only when no recipient was sent to.
static void AnswerMultiSend(PendingMultiSend& pending, std::uint64_t arrival_ms) {
  wire::SendMultiRecipientResult result;
  std::optional<std::uint64_t> first_stored_ms;
  for (std::size_t i = 0; i < pending.outcomes.size(); ++i) {
    SendOutcome& outcome = *pending.outcomes[i];
    wire::RecipientResult entry;
    entry.recipient = pending.request.recipients[i].recipient;
    entry.status = outcome.status;
    entry.mismatched_devices = std::move(outcome.mismatched);
    entry.retry_after_ms = outcome.retry_after_ms;
    if (outcome.status == ResponseStatus::kOk) {
      entry.server_timestamp_ms = outcome.server_timestamp_ms;
      if (!first_stored_ms) first_stored_ms = outcome.server_timestamp_ms;
    }
    result.results.push_back(std::move(entry));
  }
  result.server_timestamp_ms = first_stored_ms.value_or(arrival_ms);
  pending.reply.Ok(std::move(result));
}

void RequestFrameHandler::Impl::SendMultiRecipient(DeviceSession& session,
                                                   wire::SendMultiRecipientRequest request, Reply& reply) {
  auto pending = std::make_shared<PendingMultiSend>(std::move(request), std::move(reply), *session.device);
  const std::uint64_t arrival_ms = static_cast<std::uint64_t>(clock.NowMillis());
  // Every recipient is checked first; those that pass are queued together in
  // one group commit, each send on its own.
  const std::size_t count = pending->request.recipients.size();
  pending->outcomes.resize(count);
  pending->prepared.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    const wire::RecipientMessages& part = pending->request.recipients[i];
    pending->outcomes[i] = PrepareSend(*this, pending->sender, part.recipient, part.client_message_id,
                                       part.messages, false, pending->prepared[i]);
    if (pending->outcomes[i]) continue;
    pending->batch.push_back({{pending->sender.account, pending->sender.device},
                              pending->prepared[i].client_message_id,
                              pending->prepared[i].envelopes});
    pending->batch_index.push_back(i);
  }
  if (pending->batch.empty()) {
    AnswerMultiSend(*pending, arrival_ms);
    return;
  }
  writer.Enqueue(pending->batch,
                 [this, pending, arrival_ms](std::span<store::StoreResult<store::EnqueueResult>> results) {
                   for (std::size_t b = 0; b < results.size(); ++b) {
                     const std::size_t i = pending->batch_index[b];
                     pending->outcomes[i] = FinishSend(*this, pending->sender, pending->prepared[i],
                                                       pending->batch[b], results[b]);
                   }
                   AnswerMultiSend(*pending, arrival_ms);
                 });
}

}  // namespace parley::server
