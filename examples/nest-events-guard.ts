import { Controller, Injectable, Module, UseGuards, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { ConnectionPoolEventsController, ConnectionPoolEventsModule, ConnectionPoolModule } from 'reactive-connection-pool/nest';

@Injectable()
export class AdminGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const { headers } = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined> }>();
    const token = process.env.ADMIN_TOKEN;
    return token !== undefined && headers.authorization === `Bearer ${token}`;
  }
}

@Controller('admin/pool-events')
@UseGuards(AdminGuard)
export class AdminPoolEvents extends ConnectionPoolEventsController {}

@Module({
  imports: [
    ConnectionPoolModule.forRoot({}),
    ConnectionPoolEventsModule.forRoot({ path: false }), // the service only: the route is AdminPoolEvents
  ],
  controllers: [AdminPoolEvents],
  providers: [AdminGuard],
})
export class AdminModule {}
