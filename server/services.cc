#include "server/services.h"

#include <algorithm>
#include <atomic>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/audit.h"
#include "server/convert.h"
#include "server/bid_stream.h"
#include "server/watch.h"

namespace gavel {
namespace {

constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 500;

grpc::Status Busy(const Runtime& runtime) {
  if (runtime.stopping()) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is shutting down");
  }
  return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                      "the auction's shard is overloaded; retry with backoff");
}

// The answer step of a command (Runtime::RunCommand): finishes the RPC once
// the command is durable.
auto Answer(grpc::ServerUnaryReactor* reactor) {
  return [reactor](grpc::Status status) { reactor->Finish(std::move(status)); };
}

grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* context, grpc::Status status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(std::move(status));
  return reactor;
}

absl::Status ParsePageSize(int32_t page_size, size_t* out) {
  if (page_size < 0) return absl::InvalidArgumentError("page_size: must not be negative");
  *out = page_size == 0 ? kDefaultPageSize : std::min(page_size, kMaxPageSize);
  return absl::OkStatus();
}

absl::Status ParseListToken(const std::string& token, AuctionId* after) {
  *after = 0;
  if (token.empty()) return absl::OkStatus();
  absl::StatusOr<AuctionId> id = ParseAuctionId(token);
  if (!id.ok()) return absl::InvalidArgumentError("page_token: not a token from a previous page");
  *after = *id;
  return absl::OkStatus();
}

// Lists auctions across every shard: each shard fills its own slot, and the
// last one to finish merges the pages and completes the RPC. The countdown
// is the only shared word; slots are written by one shard each and read
// only after the countdown's acq_rel decrement reaches zero.
class ListGather {
 public:
  ListGather(Runtime* runtime, const TokenTable* tokens, ListFilter filter,
             grpc::ServerUnaryReactor* reactor, v1::ListAuctionsResponse* response)
      : runtime_(runtime),
        tokens_(tokens),
        filter_(filter),
        reactor_(reactor),
        response_(response),
        slots_(runtime->shard_count()),
        remaining_(static_cast<int>(runtime->shard_count())) {}

  // Consumes this object.
  void Start() {
    const size_t n = runtime_->shard_count();
    for (size_t i = 0; i < n; ++i) {
      const bool queued = runtime_->Run(runtime_->shard(i), [this, i](ShardContext& c) {
        c.engine.ListAuctions(filter_, &slots_[i]);
        Done();
      });
      if (!queued) {
        failed_.store(true, std::memory_order_relaxed);
        Done();
      }
    }
  }

 private:
  void Done() {
    if (remaining_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    if (failed_.load(std::memory_order_relaxed)) {
      reactor_->Finish(Busy(*runtime_));
      delete this;
      return;
    }
    std::vector<AuctionView> all;
    for (auto& slot : slots_) {
      for (auto& v : slot) all.push_back(std::move(v));
    }
    std::sort(all.begin(), all.end(), [](const AuctionView& a, const AuctionView& b) {
      return a.auction_id < b.auction_id;
    });
    const size_t n = std::min(all.size(), filter_.limit);
    for (size_t i = 0; i < n; ++i) {
      ViewToProto(all[i], tokens_->principals(), response_->add_auctions());
    }
    const size_t shown = static_cast<size_t>(KeepWhatFits(response_->mutable_auctions()));
    // A full page (or one cut to its bytes) may have more after it; the
    // token is the last id shown.
    if (shown > 0 && (shown < n || n == filter_.limit)) {
      response_->set_next_page_token(FormatAuctionId(all[shown - 1].auction_id));
    }
    reactor_->Finish(grpc::Status::OK);
    delete this;
  }

  Runtime* const runtime_;
  const TokenTable* const tokens_;
  const ListFilter filter_;
  grpc::ServerUnaryReactor* const reactor_;
  v1::ListAuctionsResponse* const response_;
  std::vector<std::vector<AuctionView>> slots_;
  std::atomic<int> remaining_;
  std::atomic<bool> failed_{false};
};

grpc::ServerUnaryReactor* List(const ServiceContext& ctx, grpc::CallbackServerContext* context,
                               ListFilter filter, int32_t page_size, const std::string& token,
                               v1::ListAuctionsResponse* response) {
  if (absl::Status st = ParsePageSize(page_size, &filter.limit); !st.ok()) {
    return FinishNow(context, ToGrpc(st));
  }
  if (absl::Status st = ParseListToken(token, &filter.after); !st.ok()) {
    return FinishNow(context, ToGrpc(st));
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  (new ListGather(ctx.runtime, ctx.tokens, filter, reactor, response))->Start();
  return reactor;
}

}  // namespace

// ---------------------------------------------------------------- seller

grpc::ServerUnaryReactor* SellerServiceImpl::CreateAuction(grpc::CallbackServerContext* context,
                                                           const v1::CreateAuctionRequest* request,
                                                           v1::Auction* response) {
  absl::StatusOr<Caller> caller = ctx_.tokens->Authenticate(context, {Role::kSeller});
  if (!caller.ok()) return FinishNow(context, ToGrpc(caller.status()));
  // Fields are checked on the shard, where relative times are resolved
  // against the shard's (injected) clock.
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const TokenTable* tokens = ctx_.tokens;
  const PrincipalId seller = caller->principal;
  Shard& shard = ctx_.runtime->ForKey(
      StableHash(tokens->principals().Name(seller), request->request_id()));
  const bool queued = ctx_.runtime->RunCommand(
      shard,
      [=](ShardContext& c) {
        AuctionSpec spec;
        absl::Status st = SpecFromRequest(*request, c.now, &spec);
        if (!st.ok()) return ToGrpc(st);
        absl::StatusOr<AuctionView> view =
            c.engine.CreateAuction(seller, request->request_id(), std::move(spec), c.now);
        if (view.ok()) ViewToProto(*view, tokens->principals(), response);
        return ToGrpc(view.status());
      },
      Answer(reactor));
  if (!queued) reactor->Finish(Busy(*ctx_.runtime));
  return reactor;
}

grpc::ServerUnaryReactor* SellerServiceImpl::CancelAuction(grpc::CallbackServerContext* context,
                                                           const v1::CancelAuctionRequest* request,
                                                           v1::Auction* response) {
  absl::StatusOr<Caller> caller = ctx_.tokens->Authenticate(context, {Role::kSeller});
  if (!caller.ok()) return FinishNow(context, ToGrpc(caller.status()));
  // Cancelling is idempotent by itself (a cancelled auction comes back as it
  // is); the key is required and checked as on every other mutating request.
  if (absl::Status st = CheckIdempotencyKey("request_id", request->request_id()); !st.ok()) {
    return FinishNow(context, ToGrpc(st));
  }
  absl::StatusOr<AuctionId> id = ParseAuctionId(request->auction_id());
  if (!id.ok()) return FinishNow(context, ToGrpc(id.status()));
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const TokenTable* tokens = ctx_.tokens;
  const PrincipalId seller = caller->principal;
  const AuctionId auction_id = *id;
  const bool queued = ctx_.runtime->RunCommand(
      ctx_.runtime->ForAuction(auction_id),
      [=](ShardContext& c) {
        absl::StatusOr<AuctionView> view = c.engine.CancelAuction(seller, auction_id, c.now);
        if (view.ok()) ViewToProto(*view, tokens->principals(), response);
        return ToGrpc(view.status());
      },
      Answer(reactor));
  if (!queued) reactor->Finish(Busy(*ctx_.runtime));
  return reactor;
}

grpc::ServerUnaryReactor* SellerServiceImpl::ListMyAuctions(
    grpc::CallbackServerContext* context, const v1::ListMyAuctionsRequest* request,
    v1::ListAuctionsResponse* response) {
  absl::StatusOr<Caller> caller = ctx_.tokens->Authenticate(context, {Role::kSeller});
  if (!caller.ok()) return FinishNow(context, ToGrpc(caller.status()));
  if (!v1::AuctionState_IsValid(request->state()))
    return FinishNow(context, ToGrpc(Invalid("state", "unknown value")));
  ListFilter filter;
  filter.seller = caller->principal;
  filter.state = static_cast<AuctionState>(request->state());
  return List(ctx_, context, filter, request->page_size(), request->page_token(), response);
}

// ---------------------------------------------------------------- bidder

grpc::ServerUnaryReactor* BidderServiceImpl::PlaceBid(grpc::CallbackServerContext* context,
                                                      const v1::PlaceBidRequest* request,
                                                      v1::PlaceBidResponse* response) {
  absl::StatusOr<Caller> caller = ctx_.tokens->Authenticate(context, {Role::kBidder});
  if (!caller.ok()) return FinishNow(context, ToGrpc(caller.status()));
  absl::StatusOr<AuctionId> id = CheckBidRequest(*request);
  if (!id.ok()) return FinishNow(context, ToGrpc(id.status()));
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // Built here, so that the shard neither converts nor hashes the key; its
  // client_bid_id views the request, which outlives the call.
  const PlaceBidCommand cmd = BidCommandFromRequest(*request, *id, caller->principal);
  const bool queued = ctx_.runtime->RunCommand(
      ctx_.runtime->ForAuction(cmd.auction_id),
      [cmd, response](ShardContext& c) {
        absl::StatusOr<BidResult> result = c.engine.PlaceBid(cmd, c.now);
        if (!result.ok()) return ToGrpc(result.status());
        BidResultToProto(*result, cmd, response);
        return grpc::Status::OK;
      },
      Answer(reactor), BidHint{cmd.auction_id, cmd.key_hash});
  if (!queued) reactor->Finish(Busy(*ctx_.runtime));
  return reactor;
}

namespace {
// Answers a stream at once with a fixed status (authentication failures).
class RefusedBidStream final
    : public grpc::ServerBidiReactor<v1::PlaceBidRequest, v1::PlaceBidResponse> {
 public:
  explicit RefusedBidStream(grpc::Status status) { Finish(std::move(status)); }
  void OnDone() override { delete this; }
};
}  // namespace

grpc::ServerBidiReactor<v1::PlaceBidRequest, v1::PlaceBidResponse>* BidderServiceImpl::BidStream(
    grpc::CallbackServerContext* context) {
  absl::StatusOr<Caller> caller = ctx_.tokens->Authenticate(context, {Role::kBidder});
  if (!caller.ok()) return new RefusedBidStream(ToGrpc(caller.status()));
  std::string refusal;
  StreamLimit::Permit permit = ctx_.bid_streams->TryTake(caller->principal, &refusal);
  if (!permit.held()) {
    return new RefusedBidStream(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, refusal));
  }
  return new BidStreamReactor(ctx_.runtime, caller->principal, std::move(permit));
}

grpc::ServerUnaryReactor* BidderServiceImpl::CancelBid(grpc::CallbackServerContext* context,
                                                       const v1::CancelBidRequest* request,
                                                       v1::CancelBidResponse* response) {
  absl::StatusOr<Caller> caller = ctx_.tokens->Authenticate(context, {Role::kBidder});
  if (!caller.ok()) return FinishNow(context, ToGrpc(caller.status()));
  if (absl::Status st = CheckIdempotencyKey("request_id", request->request_id()); !st.ok()) {
    return FinishNow(context, ToGrpc(st));
  }
  absl::StatusOr<AuctionId> id = ParseAuctionId(request->auction_id());
  if (!id.ok()) return FinishNow(context, ToGrpc(id.status()));
  AuctionId bid_auction = 0;
  uint32_t entry = 0;
  if (absl::Status st = ParseBidId(request->bid_id(), "bid_id", &bid_auction, &entry); !st.ok()) {
    return FinishNow(context, ToGrpc(st));
  }
  if (bid_auction != *id) {
    return FinishNow(context,
                     ToGrpc(Invalid("bid_id", "belongs to another auction than auction_id")));
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const PrincipalId owner = caller->principal;
  const AuctionId auction_id = *id;
  const bool queued = ctx_.runtime->RunCommand(
      ctx_.runtime->ForAuction(auction_id),
      [=](ShardContext& c) {
        uint32_t answered = entry;
        absl::StatusOr<int64_t> cancelled =
            c.engine.CancelBid(owner, auction_id, entry, c.now, request->request_id(), &answered);
        if (cancelled.ok()) {
          response->set_bid_id(FormatBidId(auction_id, answered));
          response->set_cancelled(*cancelled > 0);
          response->set_quantity_cancelled(*cancelled);
          response->set_message(*cancelled > 0
                                    ? absl::StrCat("cancelled ", *cancelled, " unit(s)")
                                    : std::string("nothing left to cancel: the order has traded "
                                                  "or was cancelled already"));
        }
        return ToGrpc(cancelled.status());
      },
      Answer(reactor));
  if (!queued) reactor->Finish(Busy(*ctx_.runtime));
  return reactor;
}

// ---------------------------------------------------------------- auction

grpc::ServerUnaryReactor* AuctionServiceImpl::GetAuction(grpc::CallbackServerContext* context,
                                                         const v1::GetAuctionRequest* request,
                                                         v1::Auction* response) {
  absl::StatusOr<Caller> caller = ctx_.tokens->Authenticate(
      context, {Role::kSeller, Role::kBidder, Role::kAuditor});
  if (!caller.ok()) return FinishNow(context, ToGrpc(caller.status()));
  absl::StatusOr<AuctionId> id = ParseAuctionId(request->auction_id());
  if (!id.ok()) return FinishNow(context, ToGrpc(id.status()));
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const TokenTable* tokens = ctx_.tokens;
  const AuctionId auction_id = *id;
  const bool queued = ctx_.runtime->Run(ctx_.runtime->ForAuction(auction_id), [=](ShardContext& c) {
    absl::StatusOr<AuctionView> view = c.engine.GetAuction(auction_id, /*public_view=*/true);
    if (view.ok()) ViewToProto(*view, tokens->principals(), response);
    reactor->Finish(ToGrpc(view.status()));
  });
  if (!queued) reactor->Finish(Busy(*ctx_.runtime));
  return reactor;
}

grpc::ServerUnaryReactor* AuctionServiceImpl::ListAuctions(grpc::CallbackServerContext* context,
                                                           const v1::ListAuctionsRequest* request,
                                                           v1::ListAuctionsResponse* response) {
  absl::StatusOr<Caller> caller = ctx_.tokens->Authenticate(
      context, {Role::kSeller, Role::kBidder, Role::kAuditor});
  if (!caller.ok()) return FinishNow(context, ToGrpc(caller.status()));
  if (!v1::AuctionState_IsValid(request->state()))
    return FinishNow(context, ToGrpc(Invalid("state", "unknown value")));
  if (!v1::Format_IsValid(request->format()))
    return FinishNow(context, ToGrpc(Invalid("format", "unknown value")));
  ListFilter filter;
  filter.state = static_cast<AuctionState>(request->state());
  filter.format = static_cast<Format>(request->format());
  if (!request->seller_id().empty()) {
    filter.seller = ctx_.tokens->principals().Find(request->seller_id());
    if (filter.seller == kNoPrincipal) {
      // No such seller: an empty page, not an error.
      return FinishNow(context, grpc::Status::OK);
    }
  }
  return List(ctx_, context, filter, request->page_size(), request->page_token(), response);
}

grpc::ServerWriteReactor<v1::AuctionEvent>* AuctionServiceImpl::WatchAuction(
    grpc::CallbackServerContext* context, const v1::WatchAuctionRequest* request) {
  std::shared_ptr<WatchReactor> reactor = WatchReactor::Create(&ctx_.tokens->principals());
  absl::StatusOr<Caller> caller = ctx_.tokens->Authenticate(
      context, {Role::kSeller, Role::kBidder, Role::kAuditor});
  if (!caller.ok()) {
    reactor->FinishWith(ToGrpc(caller.status()));
    return reactor.get();
  }
  absl::StatusOr<AuctionId> id = ParseAuctionId(request->auction_id());
  if (!id.ok()) {
    reactor->FinishWith(ToGrpc(id.status()));
    return reactor.get();
  }
  std::string refusal;
  StreamLimit::Permit permit = ctx_.watch_streams->TryTake(caller->principal, &refusal);
  if (!permit.held()) {
    reactor->FinishWith(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, refusal));
    return reactor.get();
  }
  reactor->Hold(std::move(permit));
  const AuctionId auction_id = *id;
  const Sequence from = request->from_sequence();
  Shard& shard = ctx_.runtime->ForAuction(auction_id);
  FeedHub* hub = &ctx_.runtime->feed_hub();
  const bool queued = ctx_.runtime->Run(shard, [reactor, auction_id, from, hub](ShardContext& c) {
    absl::StatusOr<Subscription> sub = c.shard.Subscribe(auction_id, from);
    if (!sub.ok()) return reactor->FinishWith(ToGrpc(sub.status()));
    std::shared_ptr<EventFeed> feed = sub->feed();
    reactor->Begin(*std::move(sub));
    // The hub's first Wake starts the stream (its history, or the feed from
    // where it subscribed); it keeps the reactor while it has a feed. This
    // task's own shared_ptr, never the reactor's self_: a cancel may be
    // ending the stream (OnDone) on a gRPC thread at this very moment.
    hub->Add(std::move(feed), reactor);
  });
  if (!queued) reactor->FinishWith(Busy(*ctx_.runtime));
  return reactor.get();
}

// ---------------------------------------------------------------- audit

namespace {
grpc::Status NoDatabase() {
  return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                      "this server runs without a database (--postgres); settlements are not "
                      "queryable");
}
}  // namespace

grpc::Status AuditServiceImpl::ListSettlements(grpc::ServerContext* context,
                                               const v1::ListSettlementsRequest* request,
                                               v1::ListSettlementsResponse* response) {
  absl::StatusOr<Caller> caller = ctx_.tokens->Authenticate(context, {Role::kAuditor});
  if (!caller.ok()) return ToGrpc(caller.status());
  if (!v1::Format_IsValid(request->format())) return ToGrpc(Invalid("format", "unknown value"));
  if (!v1::SettlementOutcome_IsValid(request->outcome()))
    return ToGrpc(Invalid("outcome", "unknown value"));
  if (request->page_size() < 0) return ToGrpc(Invalid("page_size", "must not be negative"));
  SettlementFilter filter;
  if (request->has_closed_after()) {
    absl::StatusOr<absl::Time> t = CheckedTime("closed_after", request->closed_after());
    if (!t.ok()) return ToGrpc(t.status());
    filter.closed_after = *t;
  }
  if (request->has_closed_before()) {
    absl::StatusOr<absl::Time> t = CheckedTime("closed_before", request->closed_before());
    if (!t.ok()) return ToGrpc(t.status());
    filter.closed_before = *t;
  }
  if (ctx_.store == nullptr) return NoDatabase();
  filter.seller_id = request->seller_id();
  filter.format = static_cast<Format>(request->format());
  filter.outcome = static_cast<SettlementOutcome>(request->outcome());
  filter.page_size = std::min(request->page_size(), kMaxPageSize);
  filter.page_token = request->page_token();
  absl::Status st = ctx_.store->With([&](Store& store) -> absl::Status {
    absl::StatusOr<SettlementPage> page = store.ListSettlements(filter);
    if (!page.ok()) return page.status();
    for (const Settlement& s : page->settlements) {
      SettlementToProto(s, /*with_bids=*/false, response->add_settlements());
    }
    const int shown = KeepWhatFits(response->mutable_settlements());
    response->set_next_page_token(static_cast<size_t>(shown) < page->settlements.size()
                                      ? Store::PageTokenAfter(page->settlements[shown - 1], filter)
                                      : page->next_page_token);
    return absl::OkStatus();
  });
  return ToGrpc(st);
}

grpc::Status AuditServiceImpl::WithSettlement(grpc::ServerContext* context,
                                              const std::string& auction_id,
                                              absl::FunctionRef<void(const Settlement&)> use) {
  absl::StatusOr<Caller> caller = ctx_.tokens->Authenticate(context, {Role::kAuditor});
  if (!caller.ok()) return ToGrpc(caller.status());
  if (ctx_.store == nullptr) return NoDatabase();
  if (absl::StatusOr<AuctionId> id = ParseAuctionId(auction_id); !id.ok()) {
    return ToGrpc(id.status());
  }
  return ToGrpc(ctx_.store->With([&](Store& store) -> absl::Status {
    absl::StatusOr<Settlement> s = store.GetSettlement(auction_id);
    if (!s.ok()) return s.status();
    use(*s);
    return absl::OkStatus();
  }));
}

grpc::Status AuditServiceImpl::GetSettlement(grpc::ServerContext* context,
                                             const v1::GetSettlementRequest* request,
                                             v1::Settlement* response) {
  return WithSettlement(context, request->auction_id(), [&](const Settlement& s) {
    SettlementToProto(s, /*with_bids=*/true, response);
  });
}

grpc::Status AuditServiceImpl::VerifySettlement(grpc::ServerContext* context,
                                                const v1::VerifySettlementRequest* request,
                                                v1::VerifySettlementResponse* response) {
  return WithSettlement(context, request->auction_id(), [&](const Settlement& s) {
    ChainCheck check = VerifyHashChain(s);
    response->set_valid(check.valid);
    response->set_recomputed_final_hash(check.recomputed_final_hash);
    response->set_stored_final_hash(s.final_hash);
    response->set_first_bad_sequence(check.first_bad_sequence);
    response->set_message(check.message);
  });
}

}  // namespace gavel
