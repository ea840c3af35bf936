package dev.mcpauthz.vault;

import com.hazelcast.core.EntryEvent;
import com.hazelcast.map.listener.EntryAddedListener;
import com.hazelcast.map.listener.EntryRemovedListener;
import com.hazelcast.map.listener.EntryUpdatedListener;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * How a member waiting for another member's refresh learns its result (issue 3 item 4: all waiters
 * get the result): one map-wide entry listener per member completes the local "next change" future
 * of the key with the new record. Futures complete on the vault executor, never on Hazelcast's
 * event thread.
 */
final class ChangeWatchers implements EntryAddedListener<CredentialKey, VaultRecord>,
    EntryUpdatedListener<CredentialKey, VaultRecord>, EntryRemovedListener<CredentialKey, VaultRecord> {

  private final ConcurrentHashMap<CredentialKey, CompletableFuture<VaultRecord>> next = new ConcurrentHashMap<>();
  private final Executor executor;

  ChangeWatchers(Executor executor) {
    this.executor = executor;
  }

  /** Completes with the record written by the next change of this key (null when removed). */
  CompletableFuture<VaultRecord> nextChange(CredentialKey key) {
    return next.computeIfAbsent(key, k -> new CompletableFuture<>());
  }

  @Override
  public void entryAdded(EntryEvent<CredentialKey, VaultRecord> event) {
    fire(event.getKey(), event.getValue());
  }

  @Override
  public void entryUpdated(EntryEvent<CredentialKey, VaultRecord> event) {
    fire(event.getKey(), event.getValue());
  }

  @Override
  public void entryRemoved(EntryEvent<CredentialKey, VaultRecord> event) {
    fire(event.getKey(), null);
  }

  private void fire(CredentialKey key, VaultRecord value) {
    CompletableFuture<VaultRecord> f = next.remove(key);
    if (f == null) {
      return;
    }
    try {
      executor.execute(() -> f.complete(value));
    } catch (RejectedExecutionException closing) {
      f.complete(value);
    }
  }
}
