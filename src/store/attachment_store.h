// AttachmentStore: encrypted attachment blobs, uploaded in resumable chunks.
//
// The bytes live in the database (in chunks of at most
// kMaxAttachmentChunkBytes), so a backup of the database is a backup of
// everything and PostgreSQL nodes share attachments without a shared disk.
// No call holds more than one chunk or one read range in memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "store/error.h"
#include "store/records.h"

namespace parley::store {

class AttachmentStore {
 public:
  virtual ~AttachmentStore() = default;

  // Registers an empty attachment of `declared_size` bytes owned by `owner`;
  // created_ms comes from the clock. kConflict: the id exists.
  // kLimitExceeded: declared_size is over StoreOptions::max_attachment_bytes.
  // kInvalidArgument: declared_size is 0. kNotFound: no such owner account.
  virtual StoreResult<AttachmentInfo> CreateAttachment(const AttachmentId& id, const AccountId& owner,
                                                       std::uint64_t declared_size) = 0;

  // Appends `chunk` at `offset`, which must equal the current length (a client
  // resuming an upload asks GetAttachment for the length first). Returns the
  // new state. kConflict: offset is not the current length (nothing is
  // written). kLimitExceeded: the chunk would pass the declared size.
  // kInvalidArgument: empty chunk or over kMaxAttachmentChunkBytes.
  // kNotFound: no such attachment.
  virtual StoreResult<AttachmentInfo> AppendAttachmentChunk(const AttachmentId& id, std::uint64_t offset,
                                                            Bytes chunk) = 0;

  // kNotFound: no such attachment.
  virtual StoreResult<AttachmentInfo> GetAttachment(const AttachmentId& id) = 0;

  // Up to `max_bytes` (capped at kMaxAttachmentReadBytes) bytes from `offset`;
  // fewer at the end of the uploaded bytes, none at exactly the end.
  // kInvalidArgument: offset is past the uploaded length. kNotFound: no such
  // attachment.
  virtual StoreResult<std::vector<std::uint8_t>> ReadAttachment(const AttachmentId& id, std::uint64_t offset,
                                                                std::size_t max_bytes) = 0;

  // Deletes the attachment and its bytes. kNotFound: no such attachment.
  virtual StoreStatus DeleteAttachment(const AttachmentId& id) = 0;

  // Up to `limit` (capped at kMaxPageSize) attachments created before
  // `created_before_ms`, oldest first, for the cleanup task to delete.
  virtual StoreResult<std::vector<AttachmentId>> ListExpiredAttachments(std::int64_t created_before_ms,
                                                                        std::size_t limit) = 0;

  // Like ListExpiredAttachments, but only attachments whose upload is not
  // finished (length below the declared size): abandoned uploads expire
  // long before finished attachments do.
  virtual StoreResult<std::vector<AttachmentId>> ListUnfinishedAttachments(std::int64_t created_before_ms,
                                                                           std::size_t limit) = 0;
};

}  // namespace parley::store
