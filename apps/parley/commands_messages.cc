// parley send, receive, history, react, edit, delete, timer, export.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <mutex>

#include "cli_common.h"

namespace parley::cli {

using namespace parley::client;

namespace {

std::string HumanSize(std::uint64_t bytes) {
  const char* units[] = {"bytes", "KiB", "MiB"};
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(units)) {
    value /= 1024;
    ++unit;
  }
  char out[32];
  std::snprintf(out, sizeof out, unit == 0 ? "%.0f %s" : "%.1f %s", value, units[unit]);
  return out;
}

// "<- bob in friends: hello" (received or in a history), then a line for a file: its name, size and
// the command that fetches it (none for a message request, S2).
std::string ReceivedMessageText(Client& client, const StoredMessage& m) {
  const auto group = GroupOfMessage(client, m);
  const bool outgoing = m.direction == Direction::kOutgoing;
  const std::string peer = !group     ? NameFor(client, m.conversation)
                           : outgoing ? group->name
                                      : NameFor(client, m.sender.value().ToString()) + " in " + group->name;
  auto attachment = client.GetAttachment(m.id);
  std::string line = HumanMessage(m, peer);
  // The summary goes after the status, before the "  #id" that ends the line.
  if (group && outgoing) line.insert(line.rfind("  #"), GroupReceiptSummary(client, m));
  if (!attachment || !*attachment) return line;
  const AttachmentInfo& a = **attachment;
  line += "\n   [file: " + (a.file_name.empty() ? std::string("(no name)") : a.file_name) + ", " +
          HumanSize(a.size);
  if (m.request) return line + "; not fetched: accept the request first]";
  const std::string where = group ? m.conversation : NameFor(client, m.conversation);
  return line + "; parley attach " + where + " --download " + ShortMessageId(m.id) + "]";
}

}  // namespace

void AddMessageCommands(Cli& cli) {
  struct Options {
    std::string peer, text, quote, target, emoji;
    int timeout_seconds = 10;
    std::size_t limit = 50;
    std::uint32_t seconds = 0;
  };
  auto o = std::make_shared<Options>();
  const Globals& g = cli.globals;

  auto* send = cli.app.add_subcommand("send", "Send a text message");
  send->add_option("peer", o->peer, "Username or account id")->required();
  send->add_option("text", o->text, "The message")->required();
  send->add_option("--quote", o->quote, "Id (or prefix) of the message this replies to");
  cli.On(send, [o, &g](Client& client) {
    std::optional<MessageId> quoted;
    if (!o->quote.empty()) {
      auto conversation = ConversationFor(client, o->peer);
      if (!conversation) return Report(g, conversation.error());
      auto id = FindMessage(client, *conversation, o->quote);
      if (!id) return Report(g, id.error());
      quoted = *id;
    }
    auto sent = client.SendText(o->peer, o->text, quoted);
    if (!sent) return Report(g, sent.error());
    return Ok(g, MessageJson(*sent), "sent #" + ShortMessageId(sent->id));
  });

  auto* receive = cli.app.add_subcommand("receive", "Fetch and print new messages, then exit");
  receive->add_option("--timeout", o->timeout_seconds, "Seconds to wait for the server's queue (default 10)");
  cli.On(receive, [o, &g](Client& client) {
    std::mutex out_mutex;
    json received = json::array();
    client.SetEventHandler([&](const Event& e) {
      std::lock_guard lock(out_mutex);
      if (const auto* m = std::get_if<MessageReceived>(&e)) {
        if (g.json) {
          received.push_back(ReceivedMessageJson(client, m->message));
        } else {
          std::cout << ReceivedMessageText(client, m->message) << "\n";
        }
      } else if (const auto* c = std::get_if<IdentityChanged>(&e)) {
        if (!g.json) {
          std::cout << "!! the identity key of "
                    << (c->username.empty() ? c->account.value().ToString() : c->username) << " changed"
                    << (c->was_verified ? "; verify again before sending" : "") << "\n";
        }
      } else if (const auto* f = std::get_if<DecryptionFailed>(&e)) {
        if (!g.json)
          std::cout << "!! a message from " << f->sender.value().ToString() << " could not be decrypted\n";
      }
    });
    if (auto s = client.Connect(); !s) return Report(g, s.error());
    auto drained = client.WaitUntilDrained(std::chrono::seconds(o->timeout_seconds));
    client.Disconnect();
    if (!drained) return Report(g, drained.error());
    std::lock_guard lock(out_mutex);
    return g.json ? Ok(g, received, "") : kExitOk;
  });

  auto* history = cli.app.add_subcommand("history", "Show a conversation (marks it read)");
  history->add_option("peer", o->peer)->required();
  history->add_option("--limit", o->limit, "Newest messages to show (default 50)");
  auto* react = cli.app.add_subcommand("react", "React to a message");
  react->add_option("peer", o->peer)->required();
  react->add_option("message", o->target, "Message id or prefix")->required();
  react->add_option("emoji", o->emoji)->required();
  auto* edit = cli.app.add_subcommand("edit", "Edit one of your messages");
  edit->add_option("peer", o->peer)->required();
  edit->add_option("message", o->target)->required();
  edit->add_option("text", o->text)->required();
  auto* remove = cli.app.add_subcommand("delete", "Delete one of your messages for everyone");
  remove->add_option("peer", o->peer)->required();
  remove->add_option("message", o->target)->required();
  auto* timer =
      cli.app.add_subcommand("timer", "Set the disappearing-message timer of a conversation (0: off)");
  timer->add_option("peer", o->peer)->required();
  timer->add_option("seconds", o->seconds)->required();
  auto in_conversation = [o, &g, history, timer, react, edit](Client& client) {
    auto conversation = DestinationFor(client, o->peer);
    if (!conversation) return Report(g, conversation.error());
    if (history->parsed()) {
      auto list = client.History(*conversation, o->limit);
      if (!list) return Report(g, list.error());
      json j = json::array();
      std::string human;
      for (const auto& m : *list) {
        if (g.json) {
          j.push_back(ReceivedMessageJson(client, m));
        } else {
          human += ReceivedMessageText(client, m) + "\n";
        }
      }
      if (!human.empty()) human.pop_back();
      // Read receipts go out only when the server is reachable; showing the
      // history never depends on it.
      (void)client.MarkRead(*conversation);
      return Ok(g, j, human);
    }
    if (timer->parsed()) {
      if (auto s = client.SetDisappearingTimer(*conversation, o->seconds); !s) return Report(g, s.error());
      return Ok(g, {{"seconds", o->seconds}},
                "disappearing messages: " +
                    (o->seconds == 0 ? std::string("off") : std::to_string(o->seconds) + " s"));
    }
    auto id = FindMessage(client, *conversation, o->target);
    if (!id) return Report(g, id.error());
    ClientStatus done = react->parsed()  ? client.React(*conversation, *id, o->emoji)
                        : edit->parsed() ? client.Edit(*conversation, *id, o->text)
                                         : client.DeleteForEveryone(*conversation, *id);
    if (!done) return Report(g, done.error());
    return Ok(g, {{"done", true}}, "done");
  };
  for (CLI::App* command : {history, react, edit, remove, timer}) cli.On(command, in_conversation);

  auto* exporting =
      cli.app.add_subcommand("export", "Write contacts and every conversation as JSON to stdout");
  cli.On(exporting, [&g](Client& client) {
    auto list = client.Contacts();
    if (!list) return Report(g, list.error());
    json out{{"contacts", json::array()}, {"conversations", json::array()}};
    for (const auto& c : *list) out["contacts"].push_back(ContactJson(c));
    auto conversations = client.Conversations();
    if (!conversations) return Report(g, conversations.error());
    for (const auto& c : *conversations) {
      auto messages = client.History(c.id, 1'000'000);
      if (!messages) return Report(g, messages.error());
      json m = json::array();
      for (const auto& message : *messages) m.push_back(MessageJson(message));
      out["conversations"].push_back({{"id", c.id},
                                      {"title", c.title},
                                      {"disappearingSeconds", c.disappearing_seconds},
                                      {"messages", m}});
    }
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  });
}

}  // namespace parley::cli
