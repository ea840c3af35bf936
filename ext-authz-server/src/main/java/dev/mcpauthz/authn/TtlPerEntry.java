package dev.mcpauthz.authn;

import com.github.benmanes.caffeine.cache.Expiry;
import java.util.function.ToLongFunction;

/** Caffeine expiry computed from each value when written; reads do not extend it. */
final class TtlPerEntry<K, V> implements Expiry<K, V> {
  private final ToLongFunction<V> ttlNanos;

  TtlPerEntry(ToLongFunction<V> ttlNanos) {
    this.ttlNanos = ttlNanos;
  }

  @Override
  public long expireAfterCreate(K key, V value, long currentTime) {
    return Math.max(0, ttlNanos.applyAsLong(value));
  }

  @Override
  public long expireAfterUpdate(K key, V value, long currentTime, long currentDuration) {
    return expireAfterCreate(key, value, currentTime);
  }

  @Override
  public long expireAfterRead(K key, V value, long currentTime, long currentDuration) {
    return currentDuration;
  }
}
