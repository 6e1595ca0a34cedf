package dev.hourglass.cache.jcache;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.NotSerializableException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.ObjectStreamClass;
import java.io.Serializable;
import java.lang.reflect.Proxy;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.util.Set;
import java.util.UUID;

/**
 * How a store-by-value JCache copies keys and values, in and out: the cache keeps a copy of what
 * is put, and hands out a copy of what is kept, so neither side sees the other's later changes.
 * Set it with {@link HourglassConfiguration#setCopierFactory}; the default is
 * {@link #serializing()}. Implementations must be thread-safe.
 */
@FunctionalInterface
public interface Copier {

  /**
   * Returns a copy of {@code object} that shares no mutable state with it, or the object itself
   * if it is immutable.
   *
   * @param <T> the type of the object
   * @param object the key or value to copy, never null
   * @param classLoader the cache manager's class loader, to resolve the copy's classes
   * @return the copy
   * @throws javax.cache.CacheException if the object cannot be copied (for example, it is not
   *     serializable)
   */
  <T> T copy(T object, ClassLoader classLoader);

  /**
   * Returns the copier that copies nothing: store-by-value with it behaves as store-by-reference.
   * For immutable keys and values only.
   *
   * @return the identity copier
   */
  static Copier identity() {
    return Copiers.IDENTITY;
  }

  /**
   * Returns the default copier: Java serialization, with the classes resolved through the cache
   * manager's class loader; common immutable JDK types (strings, boxed primitives, enums,
   * {@code BigDecimal}, {@code UUID}, {@code java.time} values) are returned as they are.
   *
   * @return the serializing copier
   */
  static Copier serializing() {
    return Copiers.SERIALIZING;
  }
}

/** The two copiers Copier names. */
final class Copiers {
  static final Copier IDENTITY = new Copier() {
    @Override
    public <T> T copy(T object, ClassLoader classLoader) {
      return object;
    }

    @Override
    public String toString() {
      return "Copier.identity()";
    }
  };

  private static final Set<Class<?>> IMMUTABLE = Set.of(String.class, Boolean.class,
      Byte.class, Short.class, Character.class, Integer.class, Long.class, Float.class,
      Double.class, BigInteger.class, BigDecimal.class, UUID.class, Duration.class,
      Instant.class, LocalDate.class, LocalDateTime.class, Class.class);

  static final Copier SERIALIZING = new Copier() {
    @Override
    @SuppressWarnings("unchecked") // a serialized copy has the class of the original
    public <T> T copy(T object, ClassLoader classLoader) {
      if (IMMUTABLE.contains(object.getClass()) || (object instanceof Enum<?>)) {
        return object;
      }
      if (!(object instanceof Serializable)) {
        throw new javax.cache.CacheException("store-by-value needs a serializable "
            + object.getClass().getName() + ": " + new NotSerializableException(
                object.getClass().getName()).getMessage());
      }
      try {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
          out.writeObject(object);
        }
        try (ObjectInputStream in = new LoaderObjectInputStream(
            new ByteArrayInputStream(bytes.toByteArray()), classLoader)) {
          return (T) in.readObject();
        }
      } catch (IOException | ClassNotFoundException e) {
        throw new javax.cache.CacheException("could not copy a "
            + object.getClass().getName() + " for store-by-value", e);
      }
    }

    @Override
    public String toString() {
      return "Copier.serializing()";
    }
  };

  private Copiers() {}

  /** Resolves classes through the cache manager's loader, then the thread's. */
  private static final class LoaderObjectInputStream extends ObjectInputStream {
    private final ClassLoader classLoader;

    LoaderObjectInputStream(InputStream in, ClassLoader classLoader) throws IOException {
      super(in);
      this.classLoader = classLoader;
    }

    @Override
    protected Class<?> resolveClass(ObjectStreamClass desc)
        throws IOException, ClassNotFoundException {
      try {
        return Class.forName(desc.getName(), false, classLoader);
      } catch (ClassNotFoundException e) {
        return super.resolveClass(desc);
      }
    }

    @Override
    protected Class<?> resolveProxyClass(String[] interfaces)
        throws IOException, ClassNotFoundException {
      Class<?>[] resolved = new Class<?>[interfaces.length];
      for (int i = 0; i < interfaces.length; i++) {
        resolved[i] = Class.forName(interfaces[i], false, classLoader);
      }
      @SuppressWarnings("deprecation") // getProxyClass: the stream names only interfaces
      Class<?> proxy = Proxy.getProxyClass(classLoader, resolved);
      return proxy;
    }
  }
}
