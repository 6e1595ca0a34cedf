package dev.hourglass.cache.jcache;

import java.lang.management.ManagementFactory;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import javax.cache.CacheException;
import javax.management.InstanceAlreadyExistsException;
import javax.management.InstanceNotFoundException;
import javax.management.MBeanServer;
import javax.management.MalformedObjectNameException;
import javax.management.ObjectName;

/**
 * Registers a JCache's management and statistics beans on the platform MBean server, under the
 * names JSR-107 gives them: {@code javax.cache:type=CacheConfiguration|CacheStatistics,
 * CacheManager=<uri>,Cache=<name>}, with the characters {@code , : = \n} of the URI and name
 * replaced by dots, and a value that still holds one of JMX's pattern characters
 * ({@code * ? " \}) quoted.
 *
 * <p>Two caches can map to one name (two managers whose URIs differ only in those characters, or
 * the same URI under two class loaders). The first keeps it: the second's bean is not
 * registered, which is logged, and unregistering goes by owner, so that closing the second never
 * takes the first's bean away. A name registered outside this provider (another copy of it, in
 * another class loader, or the application) is left to its owner the same way. Owners are kept in a concurrent map, whose atomic updates order
 * a registration against an unregistration of the same name.
 */
final class MBeans {
  private static final System.Logger LOGGER = System.getLogger(MBeans.class.getName());
  /** The bean registered under each name by this provider. */
  private static final ConcurrentMap<ObjectName, Object> OWNERS = new ConcurrentHashMap<>();

  enum Kind {
    CONFIGURATION("CacheConfiguration"), STATISTICS("CacheStatistics");

    final String type;

    Kind(String type) {
      this.type = type;
    }
  }

  private MBeans() {}

  static ObjectName name(JCache<?, ?> cache, Kind kind) {
    String name = "javax.cache:type=" + kind.type
        + ",CacheManager=" + value(cache.getCacheManager().getURI().toString())
        + ",Cache=" + value(cache.getName());
    try {
      return new ObjectName(name);
    } catch (MalformedObjectNameException e) {
      throw new CacheException("illegal management name " + name, e);
    }
  }

  private static String value(String part) {
    String safe = (part == null) ? "" : part.replaceAll(",|:|=|\n", ".");
    boolean pattern = safe.indexOf('*') >= 0 || safe.indexOf('?') >= 0
        || safe.indexOf('"') >= 0 || safe.indexOf('\\') >= 0;
    return pattern ? ObjectName.quote(safe) : safe;
  }

  static void register(JCache<?, ?> cache, Object bean, Kind kind) {
    MBeanServer server = ManagementFactory.getPlatformMBeanServer();
    ObjectName name = name(cache, kind);
    Object owner = OWNERS.putIfAbsent(name, bean); // claims the name, or finds its owner
    if (owner == bean) {
      return; // registered already, by this very call's earlier twin
    }
    if (owner != null) {
      LOGGER.log(System.Logger.Level.WARNING, "management name " + name + " is taken by another"
          + " cache; " + cache + " has no " + kind.type + " bean");
      return;
    }
    try {
      server.registerMBean(bean, name);
    } catch (InstanceAlreadyExistsException e) {
      // Registered by someone other than this provider (another copy of it, in another class
      // loader, or the application): theirs stays, and is never unregistered by us.
      OWNERS.remove(name, bean);
      LOGGER.log(System.Logger.Level.WARNING, "management name " + name + " is taken outside"
          + " this provider; " + cache + " has no " + kind.type + " bean");
    } catch (Exception e) {
      OWNERS.remove(name, bean);
      throw new CacheException("could not register " + name, e);
    }
  }

  static void unregister(JCache<?, ?> cache, Object bean, Kind kind) {
    MBeanServer server = ManagementFactory.getPlatformMBeanServer();
    ObjectName name = name(cache, kind);
    if (!OWNERS.remove(name, bean)) {
      return; // not ours: another cache's bean under the same name stays
    }
    try {
      if (server.isRegistered(name)) {
        server.unregisterMBean(name);
      }
    } catch (InstanceNotFoundException e) {
      // unregistered meanwhile: what was wanted
    } catch (Exception e) {
      throw new CacheException("could not unregister " + name, e);
    }
  }
}
