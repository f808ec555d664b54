#include "commands_attach.h"

#include <string>

namespace parley::cli {

using namespace parley::client;

void AddAttachCommands(Cli& cli) {
  struct Options {
    std::string peer, file, caption, content_type, download;
  };
  auto o = std::make_shared<Options>();
  const Globals& g = cli.globals;

  auto* attach = cli.app.add_subcommand(
      "attach",
      "Send a file (encrypted, uploaded, then a message with its key), or with --download fetch, verify and "
      "store a received one (never a message request's before it is accepted)");
  attach->add_option("peer", o->peer, "Username, account id, or a group (id, id prefix or name)")->required();
  attach->add_option("file", o->file, "The file to send");
  attach->add_option("--caption", o->caption, "Text sent with the file");
  attach->add_option("--type", o->content_type, "The file's content type, e.g. image/jpeg");
  attach->add_option("--download", o->download, "Id (or prefix, as printed) of a received message to fetch");
  cli.On(attach, [o, &g](Client& client) {
    if (!o->download.empty()) {
      if (!o->file.empty())
        return Report(g, {ClientErrc::kInvalidArgument, "give a file or --download, not both"});
      auto conversation = DestinationFor(client, o->peer);
      if (!conversation) return Report(g, conversation.error());
      auto id = FindMessage(client, *conversation, o->download);
      if (!id) return Report(g, id.error());
      auto got = client.DownloadAttachment(*id);
      if (!got) return Report(g, got.error());
      return Ok(g, AttachmentJson(*got), got->path);
    }
    if (o->file.empty())
      return Report(g, {ClientErrc::kInvalidArgument, "give a file to send or --download MSG"});
    auto destination = SendDestination(client, o->peer);
    if (!destination) return Report(g, destination.error());
    auto sent = client.SendAttachment(*destination, o->file, o->caption, o->content_type);
    if (!sent) return Report(g, sent.error());
    json j = MessageJson(*sent);
    auto info = client.GetAttachment(sent->id);
    if (info && *info) j["attachment"] = AttachmentJson(**info);
    return Ok(g, j, "sent #" + ShortMessageId(sent->id));
  });
}

}  // namespace parley::cli
